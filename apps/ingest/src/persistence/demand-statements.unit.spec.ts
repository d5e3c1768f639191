import { addRequest, emptyDemandBucket, LedgerEntry, nextBucketRevision, serializeLatencySketch } from '@shardcast/telemetry';
import {
  ArrayParam,
  CommitWrite,
  DemandStatements,
  encodeBucketKeys,
  encodeRows,
  mergedRevisionColumns,
  openShareColumns,
  revisionColumns,
  Statement,
  StatementParams,
  unnestRows,
} from './demand-statements';

const T0 = Date.UTC(2014, 3, 10, 12, 0);
/** A bound array param's elements (bind wraps arrays it encodes itself). */
const arrayOf = (v: unknown) => (v instanceof ArrayParam ? [...v.values] : v);
const AT = new Date(T0 + 300_000);

function entry(domain: string, bucketStartMs: number, latencies: number[]): LedgerEntry {
  const bucket = emptyDemandBucket();
  for (const l of latencies) addRequest(bucket, 200, l, 100);
  return { key: { domain, region: 'eu-west-1', bucketStartMs }, bucket };
}

const open = [entry('a.example.com', T0 + 120_000, [1, 2]), entry('b.example.com', T0 + 120_000, [300])];
const closed = [entry('a.example.com', T0, [7]), entry('c.example.com', T0 + 60_000, [8, 9, 10])];
const firstRevisions = closed.map((e) => nextBucketRevision(e.key, e.bucket, undefined, 'ingest-test', AT));

const write: CommitWrite = {
  topic: 'telemetry.requests.v1',
  partition: 3,
  expectedOffset: '41',
  nextOffset: '57',
  maxEventTimeMs: T0 + 150_000,
  accepted: 14,
  rejected: 1,
  late: 1,
  openShares: encodeRows(openShareColumns, open),
  closedUpTo: new Date(T0 + 60_000).toISOString(),
  evictedShares: encodeBucketKeys([]),
  lastDeltaStart: new Date(T0 + 120_000).toISOString(),
  compact: false,
  firstRevisions: encodeRows(revisionColumns, firstRevisions),
  revisionsAt: AT.toISOString(),
  chunkEnds: [2],
};

/** The params `open` is sent as: an array per column, the sketches packed with their starts and lengths. */
function openShareParams(): unknown[] {
  const sketches = open.map((e) => serializeLatencySketch(e.bucket));
  return [
    ['a.example.com', 'b.example.com'],
    ['eu-west-1', 'eu-west-1'],
    [new Date(T0 + 120_000).toISOString(), new Date(T0 + 120_000).toISOString()],
    [2, 1],
    [0, 0],
    [200, 100],
    [2, 300],
    Buffer.concat(sketches),
    [1, 1 + sketches[0].length],
    [sketches[0].length, sketches[1].length],
  ];
}

/** The same commit with a share closed early by the open-bucket limit (a tombstone in the delta). */
const evicted = [entry('d.example.com', T0 + 180_000, [5])];
const writeWithEvicted: CommitWrite = { ...write, evictedShares: encodeBucketKeys(evicted), lastDeltaStart: new Date(T0 + 180_000).toISOString() };
/** A commit whose delta holds every open share of the partition, replacing the earlier deltas. */
const writeCompacting: CommitWrite = { ...write, compact: true };
/** A commit that changes no open share (it only closes). */
const writeWithoutDelta: CommitWrite = { ...write, openShares: encodeRows(openShareColumns, []), lastDeltaStart: null };

const statements = new DemandStatements('ingest');

/** Every statement the two commit paths issue, for a commit with open and closed shares. */
const everyStatement: Record<string, Statement> = {
  commitInOneStatement: statements.commitInOneStatement(write),
  insertProgressRow: statements.insertProgressRow(write),
  lockProgress: statements.lockProgress(write),
  updateProgress: statements.updateProgress(write),
  insertOpenDelta: statements.insertOpenDelta(write),
  deleteEarlierDeltas: statements.deleteEarlierDeltas(write),
  insertFirstRevisions: statements.insertFirstRevisions(write),
  lockStoredRevisions: statements.lockStoredRevisions(encodeBucketKeys(closed)),
  updateRevisions: statements.updateRevisions(encodeRows(mergedRevisionColumns, firstRevisions), AT.toISOString()),
  insertOutboxRow: statements.insertOutboxRow(write, [1, 2], [2]),
  commitInOneStatementWithEvicted: statements.commitInOneStatement(writeWithEvicted),
  insertOpenDeltaWithEvicted: statements.insertOpenDelta(writeWithEvicted),
  commitInOneStatementCompacting: statements.commitInOneStatement(writeCompacting),
  deleteEarlierDeltasCompacting: statements.deleteEarlierDeltas(writeCompacting),
  commitInOneStatementWithoutDelta: statements.commitInOneStatement(writeWithoutDelta),
};

/** The body of a CTE of the one statement. */
const cteOf = (text: string, cte: string) => text.slice(text.indexOf(`${cte} AS (`), text.indexOf('\n       )', text.indexOf(`${cte} AS (`)));

/** Each `$n::type` of a statement's text: position and type. */
function placeholders(text: string): Array<{ n: number; sqlType: string }> {
  return [...text.matchAll(/\$(\d+)::([a-z0-9]+(?:\[\])?)/g)].map((m) => ({ n: Number(m[1]), sqlType: m[2] }));
}

/** The text with its param positions blanked, to compare statements bound in different orders. */
const unnumbered = (text: string) => text.replace(/\$\d+::/g, '$::');

describe('StatementParams', () => {
  it('numbers params in the order they are bound, with their casts', () => {
    const p = new StatementParams();
    expect([p.bind('t', 'text'), p.bind(3, 'int'), p.bind([1, 2], 'bigint[]')]).toEqual(['$1::text', '$2::int', '$3::bigint[]']);
    expect(p.values.map(arrayOf)).toEqual(['t', 3, [1, 2]]);
  });
});

describe('ArrayParam', () => {
  it('writes numbers, bigints and strings as PostgreSQL array literals, escaping quotes and backslashes only where present', () => {
    expect(new ArrayParam([1, -2.5, 1e21, 9007199254740993n]).toPostgres()).toBe('{1,-2.5,1e+21,9007199254740993}');
    expect(new ArrayParam(['a.example.com', '2014-04-10T12:00:00.000Z']).toPostgres()).toBe('{"a.example.com","2014-04-10T12:00:00.000Z"}');
    expect(new ArrayParam(['say "hi"', 'a\\b', '', 'NULL', 'x,y {z}']).toPostgres()).toBe('{"say \\"hi\\"","a\\\\b","","NULL","x,y {z}"}');
    expect(new ArrayParam([]).toPostgres()).toBe('{}');
    expect(ArrayParam.takes([1, 'a', 2n])).toBe(true);
    expect(ArrayParam.takes([1, null])).toBe(false); // left to node-postgres
    expect(new StatementParams().bind([Buffer.from('x')], 'bytea[]')).toBe('$1::bytea[]');
  });
});

describe('encodeRows and unnestRows', () => {
  it('sends each column as one array, and a bytea column packed in one param with starts and lengths', () => {
    const encoded = encodeRows(openShareColumns, open);
    const p = new StatementParams();
    const rows = unnestRows(p, encoded, { ordinality: true });
    expect(rows.from).toBe(
      'unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::float8[], $9::int[], $10::int[]) WITH ORDINALITY ' +
        'AS t(domain, region, bucket_start, requests, errors, bytes, latency_max_ms, latency_sketch_start, latency_sketch_length, ordinal)',
    );
    expect(rows.valueOf.latency_sketch).toBe('substring($8::bytea FROM t.latency_sketch_start FOR t.latency_sketch_length)');
    expect(rows.valueOf.requests).toBe('t.requests');
    expect(rows.arrays).toEqual({
      domain: '$1::text[]',
      region: '$2::text[]',
      bucket_start: '$3::timestamptz[]',
      requests: '$4::bigint[]',
      errors: '$5::bigint[]',
      bytes: '$6::bigint[]',
      latency_max_ms: '$7::float8[]',
    });
    expect(p.values.map(arrayOf)).toEqual(openShareParams());
  });
});

describe('DemandStatements', () => {
  it.each(Object.entries(everyStatement))('%s uses every param it binds, each with one type that fits its value', (_, { text, values }) => {
    const used = placeholders(text);
    expect(text.match(/\$\d+/g)).toHaveLength(used.length); // none without its cast
    expect(new Set(used.map((u) => u.n))).toEqual(new Set(values.map((_, i) => i + 1)));
    for (const { n, sqlType } of used) {
      const value = values[n - 1];
      expect(new Set(used.filter((u) => u.n === n).map((u) => u.sqlType))).toEqual(new Set([sqlType]));
      if (sqlType === 'bytea') expect(Buffer.isBuffer(value)).toBe(true);
      else expect(value instanceof ArrayParam).toBe(sqlType.endsWith('[]'));
    }
  });

  it('binds the one-statement commit in 39 params: each array once, the outbox row reusing the revisions key arrays and the partition and offsets', () => {
    const { text, values } = everyStatement.commitInOneStatement;
    expect(values).toHaveLength(39);
    const arrays = values.filter((v) => Array.isArray(v));
    expect(new Set(arrays).size).toBe(arrays.length);
    expect(values.slice(0, 9)).toEqual(['telemetry.requests.v1', 3, '41', '57', T0 + 150_000, 14, 1, 1, write.closedUpTo]);
    const outboxRow = text.slice(text.indexOf('INSERT INTO "ingest".demand_outbox'));
    const published = text.slice(text.indexOf('INSERT INTO "ingest".demand_buckets'), text.indexOf('INSERT INTO "ingest".demand_outbox'));
    for (const keys of outboxRow.match(/\$\d+::(text|timestamptz)\[\]/g)!) expect(published).toContain(keys);
    expect(outboxRow).toContain('$1::text, $2::int, $3::bigint, $4::bigint, $39::int[]'); // its commit: topic, partition, offsets before and after, chunk ends
    expect(arrayOf(values[38])).toEqual([2]);
    expect(values.filter((v) => Buffer.isBuffer(v))).toEqual([write.firstRevisions.columns[10].values, write.openShares.columns[7].values].map((v) => (v as { bytes: Buffer }).bytes));
  });

  it('gates every change of the one statement on the compare-and-set of the partition offset', () => {
    const { text } = everyStatement.commitInOneStatement;
    for (const cte of ['earlier_deltas', 'open_delta', 'published', 'events']) expect(cteOf(text, cte)).toContain('EXISTS (SELECT 1 FROM moved)');
    expect(text).toMatch(/WHERE topic = \$1::text AND partition = \$2::int AND next_offset = \$3::bigint\s+RETURNING 1/);
    // The closed minute only ever rises, and the deltas all of whose keys it has closed go.
    expect(text).toContain('closed_up_to = greatest(closed_up_to, $9::timestamptz)');
    expect(cteOf(text, 'earlier_deltas')).toContain('WHERE topic = $1::text AND partition = $2::int AND last_bucket_start <= $9::timestamptz AND EXISTS (SELECT 1 FROM moved)');
  });

  it('writes the open shares and evicted keys as one delta row of arrays, and none when the commit changes no open share', () => {
    const { text, values } = everyStatement.insertOpenDeltaWithEvicted;
    expect(text).toContain(
      'INSERT INTO "ingest".partition_open_deltas (topic, partition, last_bucket_start, domains, regions, bucket_starts, requests, errors, bytes, latency_max_ms, latency_sketches, sketch_starts, sketch_lengths, evicted_domains, evicted_regions, evicted_bucket_starts)',
    );
    expect(values.map(arrayOf)).toEqual([
      'telemetry.requests.v1',
      3,
      new Date(T0 + 180_000).toISOString(),
      ...openShareParams(),
      ['d.example.com'],
      ['eu-west-1'],
      [new Date(T0 + 180_000).toISOString()],
    ]);
    expect(everyStatement.commitInOneStatementWithoutDelta.text).not.toContain('partition_open_deltas (');
    expect(everyStatement.commitInOneStatementWithoutDelta.text).toContain('earlier_deltas AS (');
  });

  it('a compacting commit deletes every earlier delta of its partition, whatever its minutes', () => {
    const earlier = cteOf(everyStatement.commitInOneStatementCompacting.text, 'earlier_deltas');
    expect(earlier).toContain('WHERE topic = $1::text AND partition = $2::int AND EXISTS (SELECT 1 FROM moved)');
    expect(earlier).not.toContain('last_bucket_start');
    expect(everyStatement.deleteEarlierDeltasCompacting.text).not.toContain('last_bucket_start');
  });

  it('issues, in the transaction, the statements the one statement holds as CTEs', () => {
    const oneStatement = unnumbered(everyStatement.commitInOneStatement.text).replaceAll('EXISTS (SELECT 1 FROM moved)', 'true');
    for (const name of ['updateProgress', 'insertOpenDelta', 'deleteEarlierDeltas'] as const) {
      expect(oneStatement).toContain(unnumbered(everyStatement[name].text).trim());
    }
    const withEvicted = unnumbered(everyStatement.commitInOneStatementWithEvicted.text).replaceAll('EXISTS (SELECT 1 FROM moved)', 'true');
    expect(withEvicted).toContain(unnumbered(everyStatement.insertOpenDeltaWithEvicted.text).trim());
    const compacting = unnumbered(everyStatement.commitInOneStatementCompacting.text).replaceAll('EXISTS (SELECT 1 FROM moved)', 'true');
    expect(compacting).toContain(unnumbered(everyStatement.deleteEarlierDeltasCompacting.text).trim());
    const insert = unnumbered(everyStatement.insertFirstRevisions.text);
    expect(oneStatement).toContain(insert.slice(insert.indexOf('INSERT'), insert.indexOf('ORDER BY t.ordinal')));
    const outboxRow = unnumbered(everyStatement.insertOutboxRow.text);
    expect(oneStatement).toContain(outboxRow.slice(outboxRow.indexOf('INSERT'), outboxRow.indexOf('SELECT')));
    expect(oneStatement).toContain(outboxRow.slice(outboxRow.indexOf('WHERE')));
  });

  it('updates merged revisions by key, setting every other column and the revision number', () => {
    expect(everyStatement.updateRevisions.text).toMatch(
      /SET requests = t\.requests, errors = t\.errors, bytes = t\.bytes, latency_p50_ms = t\.latency_p50_ms, latency_p90_ms = t\.latency_p90_ms, latency_p99_ms = t\.latency_p99_ms, latency_max_ms = t\.latency_max_ms, latency_sketch = substring\(\$\d+::bytea FROM t\.latency_sketch_start FOR t\.latency_sketch_length\), revision = t\.revision, updated_at = \$\d+::timestamptz/,
    );
    expect(everyStatement.updateRevisions.text).toContain('WHERE db.domain = t.domain AND db.region = t.region AND db.bucket_start = t.bucket_start');
  });
});
