/**
 * The cold-start protocol of `npm run bench:forecast` (issue #15): how fast data replaces a
 * registration's prior, on every sub-daily series.
 *
 * - Where the users are: each series' market from its provenance (`SeriesProvenance`, from
 *   data/series/README.md), mapped to a region by `libs/geo`'s nearest-region rule (the one ingest
 *   applies to clients); a file not listed is an AWS metric of unknown origin: `us-east-1`, the
 *   `api` app type (the forecaster's default for a domain of unknown type), stamps in UTC.
 *   Stamps in local wall-clock time are turned into UTC first, as ingest would stamp them.
 * - Origins (`coldStartOrigins`): every 3 h from the first test origin of the accuracy part (so
 *   registrations fall at every time of day), each with 7 days before it and 48 h after it; the
 *   rule reads the series' length, never its values.
 * - At each origin a profile is registered (validated by the `domain.registered.v1` schema):
 *   user base = the peak hourly mean rate of the 7 days before the origin (`peakHourlyRate`;
 *   nothing after it), market = the series' region, share 1.
 * - Forecasts, each through the forecaster's own library calls: from the registration alone
 *   (`registrationPrior` → `priorForecast`), then with the first 1 h, 6 h and 24 h after the origin
 *   as history (`selectModel` → `forecast` with the prior, which is what the service runs for a
 *   series too short to backtest). Each is scored on the 24 h after its last known step.
 * - Score: WAPE of p50 on observed steps, pooled over a series' origins; `cold_wape_<k>h` is the
 *   plain mean over series.
 * - Borrowed daily shapes: none. A newly registered domain has no other region with history, and
 *   the other benchmark series are not domains "of the same application type" in any sense the
 *   data can vouch for.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DomainRegisteredSchema } from '@shardcast/contracts';
import {
  AppType,
  coldStartOrigins,
  DAY_MS,
  DemandSeries,
  forecast,
  HOUR_MS,
  ModelRunner,
  peakHourlyRate,
  prepareSeries,
  priorForecast,
  registrationPrior,
  selectModel,
  wallClockToUtc,
  wape,
} from '@shardcast/forecasting';
import { MarketMap, parseCountryCentroids, parseRegionTable } from '@shardcast/geo';

/** Hours of history after the origin, 0 = the registration alone. */
export const ColdStartHours = [0, 1, 6, 24] as const;

type Market = { country: string } | { region: string } | { lat: number; lon: number };

export interface SeriesProvenance {
  market: Market;
  appType: AppType;
  /** IANA zone of the stamps when they are local wall-clock time; absent: UTC. */
  stampZone?: string;
  why: string;
}

const UnknownAwsMetric: SeriesProvenance = {
  market: { region: 'us-east-1' },
  appType: 'api',
  why: 'AWS CloudWatch metric of an unnamed application: AWS’s default region, the forecaster’s default app type',
};

/** Per file name (without .csv), from data/series/README.md; anything else is `UnknownAwsMetric`. */
export const SeriesProvenance: Record<string, SeriesProvenance> = {
  nyc_taxi: {
    market: { lat: 40.71, lon: -74.01 },
    appType: 'webapp',
    stampZone: 'America/New_York',
    why: 'NYC taxi passengers (TLC trip records, local pickup times): consumer demand in New York',
  },
  Twitter_volume_AMZN: { market: { country: 'US' }, appType: 'webapp', why: 'tweets mentioning a US-listed company, stamped in UTC: consumer activity in the US' },
};

export interface ColdStartSeries {
  name: string;
  raw: DemandSeries;
  /** Steps at the end of the series that the accuracy part tests on: cold-start origins begin there. */
  testSteps: number;
}

export interface ColdStartRow {
  series: string;
  region: string;
  appType: AppType;
  origins: number;
  /** WAPE per hours of history (`ColdStartHours`). */
  wape: number[];
  /** Mean prior weight per hours of history. */
  priorWeight: number[];
  /** Σ forecast / Σ actual per hours of history: the level's bias. */
  bias: number[];
}

function marketMap(): MarketMap {
  const root = resolve(__dirname, '..', '..', 'data');
  return new MarketMap(parseRegionTable(readFileSync(resolve(root, 'regions', 'awsData.js'), 'utf8')), parseCountryCentroids(readFileSync(resolve(root, 'countries', 'centroids.csv'), 'utf8')));
}

/** Runs the protocol on the sub-daily series; returns one row per series that has an origin. */
export async function coldStartProtocol(series: readonly ColdStartSeries[], runner: ModelRunner): Promise<ColdStartRow[]> {
  const markets = marketMap();
  const rows: ColdStartRow[] = [];
  for (const s of series) {
    const provenance = SeriesProvenance[s.name] ?? UnknownAwsMetric;
    const zone = provenance.stampZone;
    const raw: DemandSeries = zone ? { timestamps: s.raw.timestamps.map((t) => wallClockToUtc(t, zone)), values: s.raw.values } : s.raw;
    const { grid, stepMs } = prepareSeries(raw);
    if (!(stepMs < DAY_MS)) continue;
    const m = provenance.market;
    const region = 'region' in m ? m.region : 'country' in m ? markets.regionOfCountry(m.country)! : markets.regionAt(m.lat, m.lon);
    const utcOffsetHours = markets.utcOffsetHours(region);
    const horizon = Math.round(DAY_MS / stepMs);
    const perHour = HOUR_MS / stepMs;
    const origins = coldStartOrigins(grid.values.length, stepMs, grid.values.length - s.testSteps);
    const actual: number[][] = ColdStartHours.map(() => []);
    const predicted: number[][] = ColdStartHours.map(() => []);
    const weights: number[][] = ColdStartHours.map(() => []);
    let used = 0;
    let refused: string | undefined;
    for (const o of origins) {
      const originMs = grid.startMs + o * stepMs;
      const peak = peakHourlyRate(grid, o - Math.round((7 * DAY_MS) / stepMs), o);
      if (!(peak > 0)) continue;
      const parsed = DomainRegisteredSchema.safeParse({
        domain: `${s.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}.bench.example`,
        registeredAt: new Date(originMs).toISOString(),
        appType: provenance.appType,
        tier: 'pro',
        userBase: { peakRequestsPerSecond: peak },
        markets: [{ region, share: 1 }],
      });
      if (!parsed.success) {
        // e.g. a series in bytes whose peak exceeds any request rate the contract accepts
        refused ??= parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        continue;
      }
      const registration = parsed.data;
      const share = markets.regionShares(registration.markets!).find((r) => r.region === region)?.share ?? null;
      const prior = registrationPrior({ registration, share, appType: registration.appType, utcOffsetHours });
      used++;
      for (const [k, hours] of ColdStartHours.entries()) {
        const known = Math.round(hours * perHour);
        let f;
        if (known === 0) {
          f = priorForecast(prior, { startMs: originMs, stepMs, horizon });
        } else {
          const until = originMs + known * stepMs;
          const history: DemandSeries = { timestamps: [], values: [] };
          raw.timestamps.forEach((t, i) => {
            if (t >= originMs && t < until) (history.timestamps as number[]).push(t), (history.values as number[]).push(raw.values[i]);
          });
          const selection = await selectModel(history, { now: new Date(until), stepMs, horizon }, runner);
          f = await forecast(history, selection, runner, { horizon, prior: { ...prior, startMs: until } });
        }
        weights[k].push(f.priorWeight);
        const first = Math.round((f.startMs - grid.startMs) / stepMs);
        for (let h = 0; h < horizon; h++) {
          const i = first + h;
          if (i >= grid.values.length || grid.observed![i] !== 1) continue;
          actual[k].push(grid.values[i]);
          predicted[k].push(f.quantiles.p50[h]);
        }
      }
    }
    if (refused) console.log(`cold start: ${s.name}: ${origins.length - used} of ${origins.length} origins skipped (the schema refused: ${refused})`);
    if (used === 0) continue;
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    rows.push({
      series: s.name,
      region,
      appType: provenance.appType,
      origins: used,
      wape: ColdStartHours.map((_, k) => wape(actual[k], predicted[k])),
      priorWeight: weights.map(mean),
      bias: ColdStartHours.map((_, k) => predicted[k].reduce((a, b) => a + b, 0) / actual[k].reduce((a, b) => a + b, 0)),
    });
  }
  return rows;
}
