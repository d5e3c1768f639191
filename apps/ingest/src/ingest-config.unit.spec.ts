import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { idleClosePolicyOf, IngestConfigSchema } from './ingest.config';

const base = { DATABASE_URL: 'postgres://localhost/x', KAFKA_BROKERS: '127.0.0.1:9092' };

describe("ingest's configuration", () => {
  it('documents every INGEST_* variable the config reads in the table of docs/ingest.md, and no other', () => {
    const doc = readFileSync(resolve(__dirname, '../../../docs/ingest.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## Configuration'));
    const documented = new Set([...table.matchAll(/`(INGEST_[A-Z_]+)`/g)].map((m) => m[1]));
    const read = Object.keys(IngestConfigSchema.shape).filter((k) => k.startsWith('INGEST_'));
    expect([...documented].sort()).toEqual(read.sort());
  });

  it('publishes observed demand on v2 by default, on v1 or both when asked, and refuses anything else', () => {
    const topics = (value?: string) => IngestConfigSchema.safeParse({ ...base, ...(value === undefined ? {} : { INGEST_DEMAND_OBSERVED_TOPICS: value }) });
    expect(topics().data?.INGEST_DEMAND_OBSERVED_TOPICS).toEqual({ v1: false, v2: true });
    expect(topics('v1').data?.INGEST_DEMAND_OBSERVED_TOPICS).toEqual({ v1: true, v2: false });
    expect(topics('v2').data?.INGEST_DEMAND_OBSERVED_TOPICS).toEqual({ v1: false, v2: true });
    expect(topics('v1, v2').data?.INGEST_DEMAND_OBSERVED_TOPICS).toEqual({ v1: true, v2: true });
    expect(topics('v2,v1').data?.INGEST_DEMAND_OBSERVED_TOPICS).toEqual({ v1: true, v2: true });
    for (const bad of ['', ',', 'v3', 'v1,demand.observed.v2', 'V2']) {
      const parsed = topics(bad);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0].path).toEqual(['INGEST_DEMAND_OBSERVED_TOPICS']);
    }
  });

  it('holds an idle partition behind the end for ten idle windows by default, and refuses a shorter backlog window', () => {
    const parse = (extra: Record<string, string>) => IngestConfigSchema.safeParse({ ...base, ...extra });
    expect(idleClosePolicyOf(parse({}).data!)).toEqual({ idleMs: 60_000, backlogIdleMs: 600_000 });
    expect(idleClosePolicyOf(parse({ INGEST_IDLE_CLOSE_MS: '2000', INGEST_IDLE_CLOSE_BACKLOG_MS: '5000' }).data!)).toEqual({ idleMs: 2_000, backlogIdleMs: 5_000 });
    const short = parse({ INGEST_IDLE_CLOSE_MS: '2000', INGEST_IDLE_CLOSE_BACKLOG_MS: '1000' });
    expect(short.success).toBe(false);
    expect(short.error?.issues[0].path).toEqual(['INGEST_IDLE_CLOSE_BACKLOG_MS']);
  });
});
