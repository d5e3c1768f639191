import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

jest.setTimeout(600_000);

/**
 * bench:scale at a tiny size, as a test: the benchmark runs end to end (Zipf domains, Kafka's
 * ConsumerPerformance, ingest, the exactness checks, the forecaster's pass over 50 domains in both
 * tiers) and its JSON line has the shape.
 */
it('bench:scale over 500 Zipf domains ends with an exact run and the JSON line of issue #20', async () => {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), resolve(__dirname, '../bench/scale.ts'), '--records', '2000', '--domains', '500', '--publish-within-s', '300', '--forecast-domains', '50', '--full-series', '20'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The JSON line is stdout's last; the bench logs (clean-up last) to stderr.
  let stdout = '';
  let out = '';
  child.stdout.on('data', (d) => ((stdout += d), (out += d)));
  child.stderr.on('data', (d) => (out += d));
  const [code] = (await once(child, 'exit')) as [number];
  const last = stdout.trim().split('\n').pop() ?? '';
  const result = JSON.parse(last.startsWith('{') ? last : '{}');
  if (code !== 0 || !result.bench) console.log(out.slice(-6000));
  expect({ code, result }).toMatchObject({
    code: 0,
    result: {
      bench: 'scale',
      domains: 500,
      records: 2000,
      exact: true,
      distribution: 'zipf',
      forecast_domains: 50,
      // 2–4 regions per domain; at most the full tier's 20 × 1.1 selected.
      series: 149,
      full_series: 20,
      pooled_series: 129,
    },
  });
  expect(result.forecast_pass_s).toBeGreaterThan(0);
  for (const key of ['ingest_rps', 'kafka_consumer_rps', 'ratio', 'peak_rss_mb']) expect(result[key]).toBeGreaterThan(0);
  // Every record lands in a bucket; at most one bucket per record, and (ingest's default,
  // demand.observed.v2) many buckets per event.
  expect(result.buckets_per_record).toBeGreaterThan(0);
  expect(result.buckets_per_record).toBeLessThanOrEqual(1);
  expect(result.events_topic).toBe('demand.observed.v2');
  expect(result.events_per_record).toBeGreaterThan(0);
  expect(result.events_per_record).toBeLessThan(result.buckets_per_record);
  expect(result.ratio).toBeCloseTo(result.ingest_rps / result.kafka_consumer_rps, 2);
});
