import { DataSource } from 'typeorm';
import { DemandForecast, DemandForecastEvent, DemandObservedEvent, DomainRegisteredEvent, DomainRegistration, Topics } from '@shardcast/contracts';
import { denseSeriesOfBuckets } from '@shardcast/forecasting';
import type { DailyShape, DemandSeries, DomainProfile, ForecastTier, ModelSelection, PooledTierState, StoredBucket } from '@shardcast/forecasting';
import { daysOf, HistoryPartitionDays, isMissingPartition } from '@shardcast/platform';
import type { RegionShare } from '@shardcast/geo';

export interface SeriesKey {
  domain: string;
  region: string;
}

/** What one forecast of a series reads before its history, in one round trip (ForecasterStore.seriesState). */
export interface SeriesState {
  deregistered: boolean;
  registration: DomainRegistration | null;
  latestBucketMs: number | null;
  /** The region's share of a registered domain's users (null: not a registered market region). */
  share: number | null;
  profile: DomainProfile | null;
  selection: ModelSelection | null;
  lastPublished: { payload: DemandForecast; publishedAt: number } | null;
}

/** What the pooled tier reads of one series (ForecasterStore.pooledInputs). */
export interface PooledInput {
  key: SeriesKey;
  deregistered: boolean;
  profile: DomainProfile | null;
  lastPublished: { payload: DemandForecast; publishedAt: number } | null;
  latestBucketMs: number | null;
  history: DemandSeries & { bytes: number; requests: number; latencyMs: number };
}

/** What one forecast run writes (saveForecastRun, saveForecastRuns). */
export interface ForecastRunWrites {
  dailyShape?: { appType: string; shape: DailyShape; days: number };
  event?: DemandForecastEvent & { payload: DemandForecast };
  tier?: { tier: ForecastTier; volume: number };
}

export interface AccuracyRow extends SeriesKey {
  model: string;
  mase: number | null;
  baseline: string;
  baselineMase: number | null;
  forecastOnly: boolean;
  confidence: string;
  selectedAt: string;
}

/**
 * What recording an observed bucket did: `recorded` (new, or a higher revision), `unchanged` (a
 * redelivery or an older revision), `rolled-up` (its day was rolled up into hourly rows already:
 * refused, its hour keeps the total it had).
 */
export type RecordOutcome = 'recorded' | 'unchanged' | 'rolled-up';

/** The forecaster's repository: history, profiles, model selections, forecasts and their outbox. */
export class ForecasterStore {
  constructor(
    private readonly db: DataSource,
    private readonly schema: string,
    /** observed_demand's day partitions: a bucket whose day has none yet gets it. */
    private readonly partitions: HistoryPartitionDays,
  ) {}

  /** Runs a write again after making the partitions of `instantsMs`' days, when it found none (it applied nothing). */
  private async withPartitions<T>(instantsMs: Iterable<number>, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!isMissingPartition(err)) throw err;
      await this.partitions.ensureMinuteDays(daysOf(instantsMs));
      return write();
    }
  }

  /** The start of the newest day rolled up (history_rollups): buckets before it are hourly rows now. */
  private get rolledUpBefore(): string {
    return `coalesce((SELECT rolled_up_before FROM ${this.s}.history_rollups WHERE history = 'observed_demand'), '-infinity'::timestamptz)`;
  }

  private get s(): string {
    return `"${this.schema}"`;
  }

  /**
   * Stores an observed bucket; a redelivery or an older revision changes nothing, and neither does
   * a bucket of a day rolled up already. Bytes: the exact decimal `bytesExact` when the producer
   * sent it (`bytes` is rounded past 2^53).
   */
  async recordObserved(event: Pick<DemandObservedEvent, 'eventId' | 'payload'>): Promise<RecordOutcome> {
    const p = event.payload;
    const [row]: Array<{ stored: number; rolled_up: boolean }> = await this.withPartitions([Date.parse(p.bucketStart)], () =>
      this.db.query(
        `WITH mark AS (SELECT ${this.rolledUpBefore} AS before),
         stored AS (
           INSERT INTO ${this.s}.observed_demand (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes, latency_p50_ms, event_id)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM mark WHERE $3::timestamptz >= mark.before
           ON CONFLICT (domain, region, bucket_start) DO UPDATE SET
             revision = excluded.revision, requests = excluded.requests, errors = excluded.errors, bytes = excluded.bytes,
             latency_p50_ms = excluded.latency_p50_ms, event_id = excluded.event_id
           WHERE ${this.s}.observed_demand.revision < excluded.revision
           RETURNING 1),
         known AS (INSERT INTO ${this.s}.known_series (domain, region) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM stored) ON CONFLICT DO NOTHING)
         SELECT (SELECT count(*) FROM stored)::int AS stored, (SELECT $3::timestamptz < before FROM mark) AS rolled_up`,
        [p.domain, p.region, p.bucketStart, p.bucketSeconds, p.revision, p.requests, p.errors, p.bytesExact ?? p.bytes, p.latencyMs.p50, event.eventId],
      ),
    );
    return row.stored > 0 ? 'recorded' : row.rolled_up ? 'rolled-up' : 'unchanged';
  }

  /**
   * Requests per bucket since `sinceMs`, minute and rolled-up hourly buckets on one dense grid
   * (denseSeriesOfBuckets: an hour spread evenly over its minutes, absent buckets zero); the totals
   * are the stored ones.
   */
  async history(key: SeriesKey, sinceMs: number): Promise<DemandSeries & { bytes: number; requests: number; latencyMs: number }> {
    // One row: the buckets as text `t:seconds:requests;…` in order, and the totals. A row per
    // bucket (4,032 for 14 days at 5 minutes) cost the event loop ~20 ms per series in the
    // driver's row parsing and its garbage. The totals add up in bucket order as that read did
    // in JS (float8 products, summed in order; requests and bytes exact).
    const [row]: Array<{ buckets: string | null; requests: string | null; bytes: string | null; latency_weighted: number | null }> = await this.db.query(
      `SELECT string_agg(concat_ws(':', (date_part('epoch', bucket_start) * 1000)::bigint, seconds, requests), ';' ORDER BY bucket_start, seconds DESC) AS buckets,
         sum(requests)::text AS requests, sum(bytes)::text AS bytes, sum(latency * requests ORDER BY bucket_start, seconds DESC) AS latency_weighted FROM (
         SELECT bucket_start, bucket_seconds AS seconds, requests, bytes, latency_p50_ms AS latency FROM ${this.s}.observed_demand
         WHERE domain = $1 AND region = $2 AND bucket_start >= $3
         UNION ALL
         SELECT bucket_start, 3600, requests, bytes, latency_p50_ms FROM ${this.s}.observed_demand_hourly
         WHERE domain = $1 AND region = $2 AND bucket_start >= $3) buckets`,
      [key.domain, key.region, new Date(sinceMs).toISOString()],
    );
    const requests = Number(row?.requests ?? 0);
    return { ...historyOfBuckets(row?.buckets ?? null), requests, bytes: Number(row?.bytes ?? 0), latencyMs: requests > 0 ? Number(row!.latency_weighted) / requests : 0 };
  }

  /**
   * Everything a forecast of the series reads besides its history and borrowed shapes, in one
   * query: the scheduler runs thousands of series, and a round trip per item was most of each one's time.
   */
  async seriesState(key: SeriesKey): Promise<SeriesState> {
    const [row] = await this.db.query(
      `SELECT EXISTS (SELECT 1 FROM ${this.s}.deregistered_domains WHERE domain = $1) AS deregistered,
         (SELECT registration FROM ${this.s}.registrations WHERE domain = $1) AS registration,
         (SELECT (extract(epoch from max(t)) * 1000)::bigint FROM (
            -- ORDER BY … LIMIT 1, not max(): the day partitions are read newest first and the scan
            -- stops at the first with the series (max() plans and probes every partition).
            (SELECT bucket_start AS t FROM ${this.s}.observed_demand WHERE domain = $1 AND region = $2 ORDER BY bucket_start DESC LIMIT 1)
            UNION ALL (SELECT bucket_start FROM ${this.s}.observed_demand_hourly WHERE domain = $1 AND region = $2 ORDER BY bucket_start DESC LIMIT 1)) newest) AS latest,
         (SELECT share FROM ${this.s}.registered_regions WHERE domain = $1 AND region = $2) AS share,
         (SELECT to_jsonb(p) FROM ${this.s}.domain_profiles p WHERE domain = $1) AS profile,
         (SELECT selection FROM ${this.s}.model_selections WHERE domain = $1 AND region = $2) AS selection,
         f.payload AS last_payload, f.published_at AS last_published_at
       FROM (SELECT 1) one LEFT JOIN ${this.s}.forecasts f ON f.domain = $1 AND f.region = $2`,
      [key.domain, key.region],
    );
    return {
      deregistered: row.deregistered,
      registration: row.registration ?? null,
      latestBucketMs: row.latest === null ? null : Number(row.latest),
      share: row.share === null ? null : Number(row.share),
      profile: row.profile ? profileOf(row.profile) : null,
      selection: row.selection ?? null,
      lastPublished: row.last_payload ? { payload: row.last_payload as DemandForecast, publishedAt: new Date(row.last_published_at).getTime() } : null,
    };
  }

  /**
   * Copies buckets from ingest's contract view (domain, region, bucket_start, bucket_seconds,
   * requests, errors, bytes) that this store does not have: minute buckets as revision 0 so any
   * published revision replaces them (not before the roll-up mark), hours ingest rolled up into
   * the hourly table.
   */
  async backfillFromView(view: string, historyDays: number): Promise<number> {
    const [schema, name] = view.split('.');
    const window = `(SELECT v.*, max(v.bucket_start) OVER (PARTITION BY v.domain, v.region) AS newest FROM "${schema}"."${name}" v) AS h
       WHERE bucket_start >= newest - make_interval(days => $1)`;
    const days = Math.ceil(historyDays);
    const starts: Array<{ t: string }> = await this.db.query(
      `SELECT DISTINCT (extract(epoch from date_bin('1 day', bucket_start, TIMESTAMPTZ '1970-01-01 00:00:00+00')) * 1000)::bigint AS t FROM ${window} AND bucket_seconds < 3600`,
      [days],
    );
    await this.partitions.ensureMinuteDays(starts.map((r) => Number(r.t)));
    const minutes = await this.db.query(
      `INSERT INTO ${this.s}.observed_demand (domain, region, bucket_start, bucket_seconds, revision, requests, errors, bytes, latency_p50_ms, event_id)
       SELECT domain, region, bucket_start, bucket_seconds, 0, requests, errors, bytes, 0, 'backfill'
       FROM ${window} AND bucket_seconds < 3600 AND bucket_start >= ${this.rolledUpBefore}
       ON CONFLICT (domain, region, bucket_start) DO NOTHING
       RETURNING 1`,
      [days],
    );
    const hourStarts: Array<{ t: string }> = await this.db.query(
      `SELECT DISTINCT (extract(epoch from date_bin('1 day', bucket_start, TIMESTAMPTZ '1970-01-01 00:00:00+00')) * 1000)::bigint AS t FROM ${window} AND bucket_seconds >= 3600`,
      [days],
    );
    await this.partitions.ensureHourlyDays(hourStarts.map((r) => Number(r.t)));
    const hours = await this.db.query(
      `INSERT INTO ${this.s}.observed_demand_hourly (domain, region, bucket_start, requests, errors, bytes, latency_p50_ms)
       SELECT domain, region, bucket_start, requests, errors, bytes, 0 FROM ${window} AND bucket_seconds >= 3600
       ON CONFLICT (domain, region, bucket_start) DO NOTHING
       RETURNING 1`,
      [days],
    );
    await this.db.query(
      `INSERT INTO ${this.s}.known_series (domain, region)
       SELECT DISTINCT domain, region FROM ${window}
       ON CONFLICT DO NOTHING`,
      [days],
    );
    return minutes.length + hours.length;
  }

  /**
   * Claims a scheduled job for this interval: true for exactly one caller per interval across
   * every instance (the row update is atomic), so N instances do not repeat the work N times.
   */
  async claimSchedule(job: string, intervalMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO ${this.s}.schedule_claims (job, claimed_at) VALUES ($1, now())
       ON CONFLICT (job) DO UPDATE SET claimed_at = now()
       WHERE ${this.s}.schedule_claims.claimed_at <= now() - make_interval(secs => $2)
       RETURNING 1`,
      [job, (intervalMs * 0.9) / 1000],
    );
    return rows.length > 0;
  }

  /**
   * Every series to forecast: observed ones (known_series, written with their buckets) and
   * registered market regions, without deregistered domains.
   */
  async seriesKeys(domain?: string): Promise<SeriesKey[]> {
    return this.db.query(
      `SELECT domain, region FROM (
         SELECT domain, region FROM ${this.s}.known_series WHERE $1::text IS NULL OR domain = $1
         UNION SELECT domain, region FROM ${this.s}.registered_regions WHERE $1::text IS NULL OR domain = $1) k
       WHERE NOT EXISTS (SELECT 1 FROM ${this.s}.deregistered_domains d WHERE d.domain = k.domain)
       ORDER BY domain, region`,
      [domain ?? null],
    );
  }

  /**
   * Stores a registration, its market regions and its profile in one transaction; a domain that
   * had been deregistered is forecast again. `published` (an API registration) goes to the
   * outbox in the same transaction, for domain.registered.v1. Returns false when the same
   * registration was stored already (a redelivery, or the topic echoing an API registration).
   */
  async saveRegistration(registration: DomainRegistration, regions: RegionShare[], profile: DomainProfile, eventId: string | null, published?: DomainRegisteredEvent): Promise<boolean> {
    return this.db.transaction(async (m) => {
      const [same] = await m.query(`SELECT 1 FROM ${this.s}.registrations WHERE domain = $1 AND registration = $2::jsonb`, [registration.domain, JSON.stringify(registration)]);
      if (same) return false;
      await m.query(
        `INSERT INTO ${this.s}.registrations (domain, registration, event_id) VALUES ($1, $2, $3)
         ON CONFLICT (domain) DO UPDATE SET registration = excluded.registration, event_id = excluded.event_id, updated_at = now()`,
        [registration.domain, JSON.stringify(registration), eventId],
      );
      await m.query(`DELETE FROM ${this.s}.registered_regions WHERE domain = $1`, [registration.domain]);
      for (const r of regions) await m.query(`INSERT INTO ${this.s}.registered_regions (domain, region, share) VALUES ($1, $2, $3)`, [registration.domain, r.region, r.share]);
      await m.query(`DELETE FROM ${this.s}.deregistered_domains WHERE domain = $1`, [registration.domain]);
      await this.saveProfileWith(m, registration.domain, profile);
      if (published) await this.addToOutbox(m, published.eventId, Topics.domainRegistered, registration.domain, JSON.stringify(published));
      return true;
    });
  }

  async registration(domain: string): Promise<DomainRegistration | null> {
    const [row] = await this.db.query(`SELECT registration FROM ${this.s}.registrations WHERE domain = $1`, [domain]);
    return row ? (row.registration as DomainRegistration) : null;
  }

  /**
   * Deregisters a domain: drops its registration, regions, forecasts, selections and shapes, marks
   * it so no series of it is forecast again until it registers anew, and writes the `deregistered`
   * event in the same transaction, with `tombstone` (an API deregistration) a tombstone for the
   * domain on domain.registered.v1 too. Returns the regions it had forecasts in (null: nothing to do).
   */
  async deregister(domain: string, event: (regions: string[]) => DemandForecastEvent, tombstone?: { eventId: string }): Promise<string[] | null> {
    return this.db.transaction(async (m) => {
      const known = await m.query(
        `SELECT 1 FROM ${this.s}.registrations WHERE domain = $1 UNION ALL SELECT 1 FROM ${this.s}.forecasts WHERE domain = $1 UNION ALL SELECT 1 FROM ${this.s}.observed_demand WHERE domain = $1
         UNION ALL SELECT 1 FROM ${this.s}.observed_demand_hourly WHERE domain = $1 LIMIT 1`,
        [domain],
      );
      const already = (await m.query(`SELECT 1 FROM ${this.s}.deregistered_domains WHERE domain = $1`, [domain])).length > 0;
      if (known.length === 0 || already) return null;
      const regions: string[] = (await m.query(`SELECT region FROM ${this.s}.forecasts WHERE domain = $1 ORDER BY region`, [domain])).map((r: { region: string }) => r.region);
      for (const t of ['registrations', 'registered_regions', 'forecasts', 'model_selections', 'daily_shapes', 'domain_profiles', 'series_tiers']) await m.query(`DELETE FROM ${this.s}.${t} WHERE domain = $1`, [domain]);
      await m.query(`INSERT INTO ${this.s}.deregistered_domains (domain, deregistered_at) VALUES ($1, now()) ON CONFLICT (domain) DO NOTHING`, [domain]);
      const e = event(regions);
      await this.addToOutbox(m, e.eventId, Topics.demandForecast, domain, JSON.stringify(e));
      if (tombstone) await this.addToOutbox(m, tombstone.eventId, Topics.domainRegistered, domain, null);
      return regions;
    });
  }

  /** An outbox row in the caller's transaction; a null payload is a tombstone for `key`. */
  private async addToOutbox(m: { query: DataSource['query'] }, eventId: string, topic: string, key: string, payload: string | null): Promise<void> {
    await m.query(`INSERT INTO ${this.s}.outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING`, [eventId, topic, key, payload]);
  }

  /** Daily shapes a prior may borrow: the domain's other regions first, then domains of the same app type (most history first). */
  async borrowableShapes(key: SeriesKey, appType: string, limit = 20): Promise<Array<{ shape: DailyShape; days: number }>> {
    const rows: Array<{ shape: number[]; days: number }> = await this.db.query(
      `(SELECT shape, days FROM ${this.s}.daily_shapes WHERE domain = $1 AND region <> $2)
       UNION ALL
       (SELECT shape, days FROM ${this.s}.daily_shapes WHERE app_type = $3 AND domain <> $1 ORDER BY days DESC LIMIT $4)`,
      [key.domain, key.region, appType, limit],
    );
    return rows.map((r) => ({ shape: r.shape, days: Number(r.days) }));
  }

  async profile(domain: string): Promise<DomainProfile | null> {
    const [row] = await this.db.query(`SELECT * FROM ${this.s}.domain_profiles WHERE domain = $1`, [domain]);
    return row ? profileOf(row) : null;
  }

  async saveProfile(domain: string, p: DomainProfile): Promise<void> {
    await this.saveProfileWith(this.db, domain, p);
  }

  private async saveProfileWith(db: { query: DataSource['query'] }, domain: string, p: DomainProfile): Promise<void> {
    await db.query(
      `INSERT INTO ${this.s}.domain_profiles (domain, app_type, tier, cpu_ms, memory_mb_per_concurrent, bytes_out, latency_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (domain) DO UPDATE SET app_type = excluded.app_type, tier = excluded.tier, cpu_ms = excluded.cpu_ms,
         memory_mb_per_concurrent = excluded.memory_mb_per_concurrent, bytes_out = excluded.bytes_out, latency_ms = excluded.latency_ms, updated_at = now()`,
      [domain, p.appType, p.tier, p.cpuMs, p.memoryMbPerConcurrent, p.bytesOut, p.latencyMs],
    );
  }

  async saveSelection(key: SeriesKey, s: ModelSelection): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.s}.model_selections (domain, region, model, mase, baseline, baseline_mase, forecast_only, confidence, selected_at, selection)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (domain, region) DO UPDATE SET model = excluded.model, mase = excluded.mase, baseline = excluded.baseline,
         baseline_mase = excluded.baseline_mase, forecast_only = excluded.forecast_only, confidence = excluded.confidence,
         selected_at = excluded.selected_at, selection = excluded.selection`,
      [key.domain, key.region, s.model, finiteOrNull(s.mase), s.baseline, finiteOrNull(s.baselineMase), s.forecastOnly, s.confidence, s.selectedAt, JSON.stringify(s)],
    );
  }

  /**
   * What one forecast run writes: the series' learnt daily shape, and the forecast with its outbox
   * event when it is published. One statement, so one round trip and one commit per series
   * (a transaction of three writes took five round trips).
   */
  async saveForecastRun(key: SeriesKey, run: ForecastRunWrites): Promise<void> {
    const { dailyShape, event, tier } = run;
    if (!dailyShape && !event && !tier) return;
    await this.db.query(
      `WITH tier AS (
         INSERT INTO ${this.s}.series_tiers (domain, region, tier, volume) SELECT $1, $2, $11, $12 WHERE $11::text IS NOT NULL
         ON CONFLICT (domain, region) DO UPDATE SET tier = excluded.tier, volume = excluded.volume, updated_at = now()),
       shape AS (
         INSERT INTO ${this.s}.daily_shapes (domain, region, app_type, shape, days) SELECT $1, $2, $3, $4, $5 WHERE $3::text IS NOT NULL
         ON CONFLICT (domain, region) DO UPDATE SET app_type = excluded.app_type, shape = excluded.shape, days = excluded.days, updated_at = now()),
       forecast AS (
         INSERT INTO ${this.s}.forecasts (domain, region, generated_at, event_id, payload, published_at) SELECT $1, $2, $6, $7, $8, now() WHERE $7::text IS NOT NULL
         ON CONFLICT (domain, region) DO UPDATE SET generated_at = excluded.generated_at, event_id = excluded.event_id, payload = excluded.payload, published_at = now())
       INSERT INTO ${this.s}.outbox (event_id, topic, key, payload) SELECT $7, $9, $1, $10 WHERE $7::text IS NOT NULL ON CONFLICT (event_id) DO NOTHING`,
      [
        key.domain,
        key.region,
        dailyShape?.appType ?? null,
        dailyShape ? JSON.stringify(dailyShape.shape) : null,
        dailyShape?.days ?? null,
        event?.payload.generatedAt ?? null,
        event?.eventId ?? null,
        event ? JSON.stringify(event.payload) : null,
        Topics.demandForecast,
        event ? JSON.stringify(event) : null,
        tier?.tier ?? null,
        tier?.volume ?? null,
      ],
    );
  }

  /**
   * What the pooled tier reads of many series, in one query (it fits no model, so a round trip
   * per series was most of its cost): per key, in order, whether its domain is deregistered, its
   * profile, its last published forecast, its newest bucket and its history over the `days` before
   * that (as `history` reads it). A series without history has `latestBucketMs` null.
   */
  async pooledInputs(keys: readonly SeriesKey[], days: number): Promise<PooledInput[]> {
    if (keys.length === 0) return [];
    const rows: Array<{
      deregistered: boolean;
      profile: Record<string, unknown> | null;
      last_payload: DemandForecast | null;
      last_published_at: string | null;
      latest: string | null;
      buckets: string | null;
      requests: string | null;
      bytes: string | null;
      latency_weighted: number | null;
    }> = await this.db.query(
      `WITH k AS (SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(domain, region, i))
       SELECT EXISTS (SELECT 1 FROM ${this.s}.deregistered_domains d WHERE d.domain = k.domain) AS deregistered,
         (SELECT to_jsonb(p) FROM ${this.s}.domain_profiles p WHERE p.domain = k.domain) AS profile,
         f.payload AS last_payload, f.published_at AS last_published_at,
         (extract(epoch from n.t) * 1000)::bigint AS latest, h.buckets, h.requests::text AS requests, h.bytes::text AS bytes, h.latency_weighted
       FROM k
       LEFT JOIN ${this.s}.forecasts f ON f.domain = k.domain AND f.region = k.region
       LEFT JOIN LATERAL (SELECT max(t) AS t FROM (
           (SELECT bucket_start AS t FROM ${this.s}.observed_demand o WHERE o.domain = k.domain AND o.region = k.region ORDER BY bucket_start DESC LIMIT 1)
           UNION ALL (SELECT bucket_start FROM ${this.s}.observed_demand_hourly o WHERE o.domain = k.domain AND o.region = k.region ORDER BY bucket_start DESC LIMIT 1)) x) n ON true
       LEFT JOIN LATERAL (
         SELECT string_agg(concat_ws(':', (date_part('epoch', bucket_start) * 1000)::bigint, seconds, requests), ';' ORDER BY bucket_start, seconds DESC) AS buckets,
           sum(requests) AS requests, sum(bytes) AS bytes, sum(latency * requests ORDER BY bucket_start, seconds DESC) AS latency_weighted FROM (
           SELECT bucket_start, bucket_seconds AS seconds, requests, bytes, latency_p50_ms AS latency FROM ${this.s}.observed_demand o
           WHERE o.domain = k.domain AND o.region = k.region AND o.bucket_start >= n.t - make_interval(secs => $3)
           UNION ALL
           SELECT bucket_start, 3600, requests, bytes, latency_p50_ms FROM ${this.s}.observed_demand_hourly o
           WHERE o.domain = k.domain AND o.region = k.region AND o.bucket_start >= n.t - make_interval(secs => $3)) b) h ON n.t IS NOT NULL
       ORDER BY k.i`,
      [keys.map((k) => k.domain), keys.map((k) => k.region), days * 86_400],
    );
    return rows.map((row, i) => {
      const requests = Number(row.requests ?? 0);
      return {
        key: keys[i],
        deregistered: row.deregistered,
        profile: row.profile ? profileOf(row.profile) : null,
        lastPublished: row.last_payload ? { payload: row.last_payload, publishedAt: new Date(row.last_published_at!).getTime() } : null,
        latestBucketMs: row.latest === null ? null : Number(row.latest),
        history: { ...historyOfBuckets(row.buckets), requests, bytes: Number(row.bytes ?? 0), latencyMs: requests > 0 ? Number(row.latency_weighted) / requests : 0 },
      };
    });
  }

  /**
   * saveForecastRun for many series in one statement (the pooled tier's batches). `eventJson`: each
   * run's event as JSON (the one text the relay sends too; the stored forecast is its payload), so
   * a ~10 kB event is serialised once. The stored payload is cut from that text, not parsed out of
   * it: the envelope's last key is its payload (ForecastRunner.envelope), and a JSON text cannot
   * hold `"payload":` inside a string (a quote in a string is escaped), so the first one is the key.
   */
  async saveForecastRuns(runs: ReadonlyArray<{ key: SeriesKey; eventJson?: string } & ForecastRunWrites>): Promise<void> {
    const rows = runs
      .filter((r) => r.dailyShape || r.event || r.tier)
      .map(({ key, dailyShape, event, eventJson, tier }) => ({
        domain: key.domain,
        region: key.region,
        app_type: dailyShape?.appType ?? null,
        shape: dailyShape?.shape ?? null,
        days: dailyShape?.days ?? null,
        generated_at: event?.payload.generatedAt ?? null,
        event_id: event?.eventId ?? null,
        event: event ? (eventJson ?? JSON.stringify(event)) : null,
        tier: tier?.tier ?? null,
        volume: tier?.volume ?? null,
      }));
    if (rows.length === 0) return;
    await this.db.query(
      `WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(domain text, region text, app_type text, shape jsonb, days float8, generated_at timestamptz, event_id text, event text, tier text, volume float8)),
       tier AS (
         INSERT INTO ${this.s}.series_tiers (domain, region, tier, volume) SELECT domain, region, tier, volume FROM r WHERE tier IS NOT NULL
         ON CONFLICT (domain, region) DO UPDATE SET tier = excluded.tier, volume = excluded.volume, updated_at = now()),
       shape AS (
         INSERT INTO ${this.s}.daily_shapes (domain, region, app_type, shape, days) SELECT domain, region, app_type, shape, days FROM r WHERE app_type IS NOT NULL
         ON CONFLICT (domain, region) DO UPDATE SET app_type = excluded.app_type, shape = excluded.shape, days = excluded.days, updated_at = now()),
       forecast AS (
         INSERT INTO ${this.s}.forecasts (domain, region, generated_at, event_id, payload, published_at) SELECT domain, region, generated_at, event_id,
           substr(event, strpos(event, '"payload":') + 10, length(event) - strpos(event, '"payload":') - 10)::json, now() FROM r WHERE event_id IS NOT NULL
         ON CONFLICT (domain, region) DO UPDATE SET generated_at = excluded.generated_at, event_id = excluded.event_id, payload = excluded.payload, published_at = now())
       INSERT INTO ${this.s}.outbox (event_id, topic, key, payload) SELECT event_id, $2, domain, event::json FROM r WHERE event_id IS NOT NULL ON CONFLICT (event_id) DO NOTHING`,
      [JSON.stringify(rows), Topics.demandForecast],
    );
  }

  /** Every series' tier and the volume it was last ranked by (series_tiers; a series never forecast has none). */
  async seriesTiers(): Promise<Array<SeriesKey & { tier: ForecastTier; volume: number }>> {
    const rows: Array<SeriesKey & { tier: ForecastTier; volume: number }> = await this.db.query(`SELECT domain, region, tier, volume FROM ${this.s}.series_tiers`);
    return rows.map((r) => ({ ...r, volume: Number(r.volume) }));
  }

  /**
   * Requests since `sinceMs` of series that have no ranked volume yet (new series, the first pass
   * after deploying the tiers): one aggregate over their keys, so they are ranked by their traffic
   * and not pooled by default.
   */
  async recentVolumes(keys: readonly SeriesKey[], sinceMs: number): Promise<Array<SeriesKey & { volume: number }>> {
    if (keys.length === 0) return [];
    const rows: Array<SeriesKey & { volume: string }> = await this.db.query(
      `WITH k AS (SELECT * FROM unnest($1::text[], $2::text[]) AS k(domain, region))
       SELECT k.domain, k.region, coalesce((
         SELECT sum(requests) FROM (
           SELECT requests FROM ${this.s}.observed_demand o WHERE o.domain = k.domain AND o.region = k.region AND o.bucket_start >= $3
           UNION ALL SELECT requests FROM ${this.s}.observed_demand_hourly h WHERE h.domain = k.domain AND h.region = k.region AND h.bucket_start >= $3) b), 0)::text AS volume
       FROM k`,
      [keys.map((k) => k.domain), keys.map((k) => k.region), new Date(sinceMs).toISOString()],
    );
    return rows.map((r) => ({ domain: r.domain, region: r.region, volume: Number(r.volume) }));
  }

  /** The pooled tier's learnt state (one row), or null before its first pass. */
  async pooledTier(): Promise<PooledTierState | null> {
    const [row] = await this.db.query(`SELECT state FROM ${this.s}.pooled_tier WHERE name = 'pooled'`);
    return (row?.state as PooledTierState) ?? null;
  }

  async savePooledTier(state: PooledTierState): Promise<void> {
    await this.db.query(
      `INSERT INTO ${this.s}.pooled_tier (name, state) VALUES ('pooled', $1) ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = now()`,
      [JSON.stringify(state)],
    );
  }

  async forecasts(domain: string): Promise<DemandForecast[]> {
    const rows = await this.db.query(`SELECT payload FROM ${this.s}.forecasts WHERE domain = $1 ORDER BY region`, [domain]);
    return rows.map((r: { payload: DemandForecast }) => r.payload);
  }

  async accuracy(): Promise<AccuracyRow[]> {
    const rows = await this.db.query(`SELECT * FROM ${this.s}.model_selections ORDER BY domain, region`);
    return rows.map((r: Record<string, unknown>) => ({
      domain: r.domain,
      region: r.region,
      model: r.model,
      mase: r.mase,
      baseline: r.baseline,
      baselineMase: r.baseline_mase,
      forecastOnly: r.forecast_only,
      confidence: r.confidence,
      selectedAt: (r.selected_at as Date).toISOString(),
    }));
  }
}

/**
 * A history read as `t:seconds:requests` fields joined by `;` (ForecasterStore.history): the dense
 * series of its buckets. Scanned by character code (splitting into strings cost ~8 ms per 4,032
 * buckets); every field is a non-negative integer.
 */
export function historyOfBuckets(text: string | null): DemandSeries {
  const buckets: StoredBucket[] = [];
  const n = text?.length ?? 0;
  let i = 0;
  const integer = (): number => {
    let v = 0;
    for (let c = text!.charCodeAt(i); c >= 48 && c <= 57; c = text!.charCodeAt(++i)) v = v * 10 + (c - 48);
    i++; // the separator
    return v;
  };
  while (i < n) {
    const startMs = integer();
    const seconds = integer();
    buckets.push({ startMs, seconds, requests: integer() });
  }
  return denseSeriesOfBuckets(buckets);
}

function profileOf(row: Record<string, unknown>): DomainProfile {
  return {
    appType: row.app_type as DomainProfile['appType'],
    tier: row.tier as DomainProfile['tier'],
    cpuMs: Number(row.cpu_ms),
    memoryMbPerConcurrent: Number(row.memory_mb_per_concurrent),
    bytesOut: Number(row.bytes_out),
    latencyMs: Number(row.latency_ms),
  };
}

function finiteOrNull(v: number | null): number | null {
  return v !== null && Number.isFinite(v) ? v : null;
}
