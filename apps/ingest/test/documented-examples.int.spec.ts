import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DemandObservedBatchEventSchema, DomainRegisteredEventSchema, Topics, deadLetterTopic } from '@shardcast/contracts';
import { eventually } from '@shardcast/test-stack';
import { INGEST_NODE_OPTIONS } from '../src/ingest.config';
import { IngestHarness } from './ingest-harness';

jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '../../..');
/**
 * The docs, in reading order. A ```sh block in them is an example a reader runs against a fresh
 * ingest, and this test runs it; commands that are not such examples (builds, benchmarks, the
 * demo) are written in ```bash blocks.
 */
const DOCS = ['README.md', 'docs/ingest.md', 'docs/forecaster.md', 'docs/contracts/README.md', 'bench/README.md', ...readdirSync(resolve(ROOT, 'docs/decisions')).sort().map((f) => `docs/decisions/${f}`)];
const DOCUMENTED_BROKER = '127.0.0.1:9092';

/** Every ```sh block of a markdown file, backslash-continued lines joined. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1].replace(/\\\n\s*/g, '').trim());
}

/** `NAME='value' NAME2='value' npm run …` → { NAME: value, … }. */
function leadingAssignments(command: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of command.matchAll(/(?:^|\s)([A-Z_][A-Z0-9_]*)='([^']*)'(?=\s)/g)) env[m[1]] = m[2];
  return env;
}

function runShell(command: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise(Buffer.concat(out).toString('utf8')) : reject(new Error(`\`${command}\` exited ${code}: ${Buffer.concat(err).toString('utf8').slice(0, 2000)}`))));
  });
}

type BucketTotals = Record<string, { requests: number; errors: number }>;
/** What the docs say each example does, in the docs' order. */
type Outcome =
  | { kind: 'start-ingest'; env: Record<string, string> }
  | { kind: 'produce'; accepted: number; rejected: number; buckets: BucketTotals }
  | { kind: 'consume'; topic: string; check: (lines: string[]) => void; done: (lines: string[]) => boolean }
  /** A produce to domain.registered.v1 (no ingest involved): the topic's messages for the key afterwards, `%k %S %s` each. */
  | { kind: 'register'; check: (lines: string[]) => void; done: (lines: string[]) => boolean };

const minute = (iso: string) => Date.parse(iso);
const afterRecord: BucketTotals = { [`app.example.com|eu-central-1|${minute('2026-11-25T12:00:00Z')}`]: { requests: 1, errors: 0 } };
const afterBatch: BucketTotals = {
  ...afterRecord,
  [`app.example.com|eu-central-1|${minute('2026-11-25T12:01:00Z')}`]: { requests: 1, errors: 0 },
  [`xn--bcher-kva.example|sa-east-1|${minute('2026-11-25T12:01:00Z')}`]: { requests: 1, errors: 1 },
};

describe('the documented examples', () => {
  const h = new IngestHarness();
  let rejectedValue = '';

  const expected: Outcome[] = [
    { kind: 'start-ingest', env: { POPS: '{"fra1":{"lat":50.11,"lon":8.68}}', INGEST_DEMAND_OBSERVED_TOPICS: 'v1,v2' } },
    { kind: 'produce', accepted: 1, rejected: 0, buckets: afterRecord },
    { kind: 'produce', accepted: 3, rejected: 0, buckets: afterBatch },
    { kind: 'produce', accepted: 3, rejected: 1, buckets: afterBatch },
    {
      kind: 'consume',
      topic: Topics.demandObserved,
      done: (lines) => lines.length >= 3,
      check: (lines) => {
        const events = lines.map((line) => {
          const [key, ...json] = line.split(' ');
          const { payload } = JSON.parse(json.join(' '));
          return { key, at: `${payload.domain}|${payload.region}|${Date.parse(payload.bucketStart)}`, revision: payload.revision, requests: payload.requests, errors: payload.errors };
        });
        expect(events.every((e) => e.key === e.at.split('|')[0] && e.revision === 1)).toBe(true);
        expect(Object.fromEntries(events.map((e) => [e.at, { requests: e.requests, errors: e.errors }]))).toEqual(afterBatch);
        expect(events).toHaveLength(3);
      },
    },
    {
      kind: 'consume',
      topic: Topics.demandObservedV2,
      // One event per commit that closed buckets: one, or two if the partition went idle between the messages.
      done: (lines) => lines.flatMap((line) => JSON.parse(line.slice(line.indexOf(' ') + 1)).payload.buckets).length >= 3,
      check: (lines) => {
        const events = lines.map((line) => {
          const [key, ...json] = line.split(' ');
          return { key, event: DemandObservedBatchEventSchema.parse(JSON.parse(json.join(' '))) };
        });
        expect(events.length).toBeGreaterThanOrEqual(1);
        expect(events.length).toBeLessThanOrEqual(2);
        for (const { key, event } of events) {
          expect(key).toBe(`${event.payload.source.topic}:${event.payload.source.partition}`);
          expect(event.payload.source.topic).toBe(`${h.prefix}${Topics.telemetryRequests}`);
        }
        const buckets = events.flatMap((e) => e.event.payload.buckets);
        expect(buckets.every((b) => b.revision === 1 && b.bucketSeconds === 60)).toBe(true);
        expect(Object.fromEntries(buckets.map((b) => [`${b.domain}|${b.region}|${Date.parse(b.bucketStart)}`, { requests: b.requests, errors: b.errors }]))).toEqual(afterBatch);
        expect(buckets).toHaveLength(3);
      },
    },
    { kind: 'consume', topic: Topics.shardAssigned, done: () => true, check: (lines) => expect(lines).toEqual([]) },
    {
      kind: 'consume',
      topic: deadLetterTopic(Topics.telemetryRequests),
      done: (lines) => lines.length >= 1,
      check: (lines) => {
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain('x-error-code=TELEMETRY_INVALID_RECORD');
        expect(lines[0].endsWith(` ${rejectedValue}`)).toBe(true);
      },
    },
    {
      kind: 'register',
      done: (lines) => lines.length >= 1,
      check: (lines) => {
        expect(lines).toHaveLength(1);
        const [key, , ...json] = lines[0].split(' ');
        expect(key).toBe('app.example.com');
        expect(DomainRegisteredEventSchema.parse(JSON.parse(json.join(' '))).payload).toMatchObject({ domain: 'app.example.com', appType: 'webapp', tier: 'pro' });
      },
    },
    {
      kind: 'register',
      done: (lines) => lines.length >= 2,
      check: (lines) => {
        expect(lines).toHaveLength(2);
        expect(lines[1]).toMatch(/^app\.example\.com -1\s*$/); // a tombstone: a null value (size -1)
      },
    },
  ];

  beforeAll(() => h.setUp());
  afterAll(() => h.tearDown());

  it('the start scripts run what the build produces, ingest with its deployed Node flags', () => {
    const scripts = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    expect(scripts['start:ingest']).toBe(`node ${INGEST_NODE_OPTIONS} apps/ingest/dist/src/main.js`);
    for (const app of ['forecaster', 'allocator', 'shard-assigner', 'dns-publisher', 'monitor']) expect(scripts[`start:${app}`]).toBe(`node apps/${app}/dist/src/main.js`);
  });

  it('run in order against a fresh ingest, do what the docs say', async () => {
    const blocks = DOCS.flatMap((file) => shellBlocks(readFileSync(resolve(ROOT, file), 'utf8')));
    // A new, removed or reordered example fails here until its outcome is written down below.
    const kindOf = (b: string) => (b.includes('npm run start:ingest') ? 'start-ingest' : / -P /.test(b) ? (b.includes(` -t ${Topics.domainRegistered} `) ? 'register' : 'produce') : 'consume');
    expect(blocks.map(kindOf)).toEqual(expected.map((o) => o.kind));

    // The docs' broker and topic names, on this test's broker and prefixed topics.
    const onThisStack = (command: string) =>
      command.replaceAll(`-b ${DOCUMENTED_BROKER}`, `-b ${h.env.KAFKA_BROKERS}`).replace(/ -t (\S+)/g, (_m, topic: string) => ` -t ${h.prefix}${topic}`);

    for (const [i, block] of blocks.entries()) {
      const outcome = expected[i];
      if (outcome.kind === 'start-ingest') {
        expect(leadingAssignments(block)).toEqual(outcome.env);
        // A short idle close so the buckets are published without the minute's wait the docs mention.
        const ingest = h.startIngest({ ...leadingAssignments(block), INGEST_IDLE_CLOSE_MS: '1000' });
        await ingest.waitForMessage('ingest consuming');
      } else if (outcome.kind === 'produce') {
        const value = /^echo '[^|]*\|(.*)' \|/.exec(block)?.[1];
        if (outcome.rejected > 0 && value) rejectedValue = value;
        await runShell(onThisStack(block));
        const totals = await eventually(() => h.totals(), (t) => t.accepted + t.rejected >= outcome.accepted + outcome.rejected, 60_000);
        expect({ accepted: totals.accepted, rejected: totals.rejected, late: totals.late }).toEqual({ accepted: outcome.accepted, rejected: outcome.rejected, late: 0 });
        expect(await bucketTotals(h)).toEqual(outcome.buckets);
      } else if (outcome.kind === 'register') {
        await runShell(onThisStack(block));
        const read = `kcat -b ${h.env.KAFKA_BROKERS} -C -e -q -t ${h.prefix}${Topics.domainRegistered} -o beginning -f '%k %S %s\\n'`;
        const lines = await eventually(async () => (await runShell(read)).split('\n').filter(Boolean), outcome.done, 30_000, 300);
        outcome.check(lines);
      } else {
        expect(block).toContain(` -t ${outcome.topic} `);
        // The docs' consumers follow the topic; here they stop at its end (-e) and are re-run until done.
        const command = onThisStack(block.includes(' -e ') ? block : block.replace(' -C ', ' -C -e '));
        const lines = await eventually(async () => (await runShell(command)).split('\n').filter(Boolean), outcome.done, 60_000, 500);
        outcome.check(lines);
      }
    }
  });
});

/** Requests and errors per (domain, region, bucket start ms) from ingest's contract view. */
async function bucketTotals(h: IngestHarness): Promise<BucketTotals> {
  const { rows } = await h.db.query(
    `SELECT domain, region, (extract(epoch FROM bucket_start) * 1000)::bigint AS start_ms, requests, errors FROM "${h.schema}".demand_history`,
  );
  return Object.fromEntries(rows.map((r: Record<string, string>) => [`${r.domain}|${r.region}|${r.start_ms}`, { requests: Number(r.requests), errors: Number(r.errors) }]));
}
