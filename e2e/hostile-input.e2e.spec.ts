import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

jest.setTimeout(600_000);

/**
 * bench:hostile at a small size, as a test: every hostile kind on every consumer of every topic,
 * both ingest clients. The benchmark's own checks decide; this holds its JSON line to them.
 */
it('every consumer survives every hostile message: exact counts, every dead letter accounted for, no stall, no crash', async () => {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), resolve(__dirname, '../bench/hostile.ts'), '--valid', '3000', '--hostile', '600', '--timeout-s', '120'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const [code] = (await once(child, 'exit')) as [number];
  const last = out.trim().split('\n').pop() ?? '';
  const result = JSON.parse(last.startsWith('{') ? last : '{}');
  // On failure, the benchmark's own tables say which consumer and kind fell short.
  if (code !== 0) console.log(out.slice(-6000));
  expect({ code, result }).toMatchObject({
    code: 0,
    result: { bench: 'hostile', counted_exact: true, stalled_partitions: 0, crashes: 0 },
  });
  expect(result.dead_letters + result.quarantined).toBe(result.dead_letters_expected);
  expect(result.dead_letters_expected).toBeGreaterThan(600);
});
