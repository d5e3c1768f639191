/**
 * Summarises a .cpuprofile: self time by function and by package/file, and inclusive time of a
 * few hot-path functions.   npx tsx bench/ingest/analyze-profile.ts FILE [--top 40] [--last SECONDS]
 * --last: only the profile's last SECONDS (the bench writes it at t1: pass the window's length).
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
const file = process.argv[2];
const top = Number(process.argv[process.argv.indexOf('--top') + 1] || 40);
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const lastUs = process.argv.includes('--last') ? Number(process.argv[process.argv.indexOf('--last') + 1]) * 1e6 : Infinity;
const sampleAt: number[] = [];
profile.samples.forEach((_, i) => sampleAt.push((sampleAt[i - 1] ?? profile.startTime) + (profile.timeDeltas[i] ?? 0)));
const from = sampleAt[sampleAt.length - 1] - lastUs;
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  if (sampleAt[i] >= from) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const short = (url: string) => url.replace(/^file:\/\//, '').replace(/.*node_modules\//, 'nm:').replace(/.*\/(apps|libs)\//, '$1/');
const pkg = (url: string) => {
  if (!url) return '(native/vm)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node:internal';
  return short(url);
};
const fnKey = (n: Node) => `${n.callFrame.functionName || '(anon)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const agg = (key: (n: Node) => string) => {
  const m = new Map<string, number>();
  for (const [id, us] of selfUs) m.set(key(byId.get(id)!), (m.get(key(byId.get(id)!)) ?? 0) + us);
  return [...m].sort((a, b) => b[1] - a[1]);
};
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1e6).toFixed(2).padStart(6)} s`;
console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled`);
console.log('\n== self time by package / file ==');
for (const [k, us] of agg((n) => pkg(n.callFrame.url)).slice(0, 25)) console.log(`${pct(us)}  ${k}`);
console.log('\n== self time by function ==');
for (const [k, us] of agg(fnKey).slice(0, top)) console.log(`${pct(us)}  ${k}`);
// Inclusive time: a sample counts once for every distinct function on its stack.
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = fnKey(byId.get(cur)!);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}
console.log('\n== inclusive time (top by total) ==');
for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
