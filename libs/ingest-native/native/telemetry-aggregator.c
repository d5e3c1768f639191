/*
 * The per-record half of aggregatePartitionMessages (libs/telemetry/src/partition-aggregator.ts)
 * in C, over what the byte scanner (telemetry-scanner.c) found in a partition run: the same checks
 * (commonValuesValid), the same order of decisions (too far in the future, late against the
 * running watermark), the nearest region by the same great-circle formula over the same 0.01°
 * cells, and the same per-(domain, region, minute) totals and DDSketch bins. JavaScript then makes
 * one DemandBucket per bucket instead of doing this work per record, and keeps everything else:
 * domain normalisation (it passes one id per distinct domain), messages this code stops at, the
 * rejection reasons. A differential property test holds both paths to the same delta.
 *
 * JS API (see native-telemetry-scanner.ts, aggregateScanned):
 *   aggregate(values: Float64Array, domains: Int32Array, domainIds: Int32Array, kinds: Uint8Array,
 *             recordEnds: Int32Array, from: number, to: number, regions: Float64Array,
 *             cellCache: Int32Array, params: Float64Array)
 *     -> [messages, accepted, maxEventTimeMs, groups: Float64Array, bins: Float64Array, rejections: Float64Array]
 *   Takes scanned messages from..to-1 in order and stops before the first one it cannot take whole
 *   (not answered by the scanner, or a record that commonValuesValid or the domain check refuses):
 *   `messages` says how many it took. domainIds[f] is the id of the domain first seen at record f
 *   (domains[3r+2]), -1 when invalid. regions: lat, lon per region. cellCache: [used, (cell,
 *   region) * capacity], capacity a power of two, cells -1 when empty; owned by the RegionLocator.
 *   params: maxEventTimeMs, allowedLatenessMs, nowMs, maxFutureSkewMs, bucketMs, sketch key
 *   multiplier, sketch key offset, sketch minPossible, MAX_EVENT_TIME_MS, MAX_LATENCY_MS,
 *   MAX_RECORD_BYTES.
 *   groups: GROUP_FIELDS per bucket, in first-seen order: domainId, region, bucketStartMs,
 *   requests, errors, bytesHigh, latencyMaxMs, zeroCount, min, max, sum, minKey, binCount, binStart,
 *   bytesLow: the byte total is summed exactly in a uint64_t (1.8e19: 1.8e8 records of
 *   MAX_RECORD_BYTES per group) and handed over as bytesHigh * 2^32 + bytesLow, both exact doubles;
 *   bins[binStart .. binStart+binCount) count keys minKey.. . rejections: record, code (1 too far
 *   in the future, 2 late), watermark, per rejected record.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "napi-call.h"
#include "telemetry-layout.h"

#define EARTH_RADIUS_KM 6371.0088
#define MAX_SAFE_INTEGER 9007199254740991.0

typedef struct {
  int32_t domain, region;
  double bucket_start;
  double requests, errors, latency_max, zero_count, min, max, sum;
  uint64_t bytes; /* exact: a double sum is not past 2^53 */
  int32_t key_lo, key_hi; /* bins hold keys key_lo..key_hi (key_lo > key_hi: none yet) */
  int32_t bins_offset;    /* key of bins[0] */
  int32_t bins_cap;
  double *bins;
} group_t;

typedef struct {
  group_t *groups;
  int32_t count, cap;
  int32_t *slots; /* group index + 1, 0 empty */
  int32_t slot_mask;
} groups_t;

static int is_safe_integer(double x) { return isfinite(x) && trunc(x) == x && fabs(x) <= MAX_SAFE_INTEGER; }

/* Math.round: half-way cases go up (towards +∞), unlike C's round. */
static double js_round(double x) {
  double r = floor(x);
  return x - r >= 0.5 ? r + 1 : r;
}

static double to_rad(double deg) { return (deg * M_PI) / 180; }

/* greatCircleKm in region-locator.ts (libm's sin/cos/asin may differ from V8's in the last bit). */
static double great_circle_km(double a_lat, double a_lon, double b_lat, double b_lon) {
  double d_lat = to_rad(b_lat - a_lat);
  double d_lon = to_rad(b_lon - a_lon);
  double s1 = sin(d_lat / 2), s2 = sin(d_lon / 2);
  double h = s1 * s1 + cos(to_rad(a_lat)) * cos(to_rad(b_lat)) * s2 * s2;
  double root = sqrt(h);
  return 2 * EARTH_RADIUS_KM * asin(root < 1 ? root : 1);
}

/* RegionLocator.nearest: the region nearest the centre of the 0.01° cell, cached per cell. */
static int32_t nearest_region(double lat, double lon, const double *regions, int32_t n_regions, int32_t *cache, int32_t capacity) {
  double lat_cell = js_round(lat * 100), lon_cell = js_round(lon * 100);
  int32_t key = (int32_t)((lat_cell + 9000) * 40000 + (lon_cell + 18000));
  int32_t *slots = cache + 1;
  uint32_t mask = (uint32_t)capacity - 1;
  uint32_t h = ((uint32_t)key * 2654435761u) & mask;
  while (slots[2 * h] != -1) {
    if (slots[2 * h] == key) return slots[2 * h + 1];
    h = (h + 1) & mask;
  }
  double c_lat = lat_cell / 100, c_lon = lon_cell / 100;
  int32_t best = 0;
  double best_km = INFINITY;
  for (int32_t i = 0; i < n_regions; i++) {
    double km = great_circle_km(c_lat, c_lon, regions[2 * i], regions[2 * i + 1]);
    if (km < best_km) {
      best_km = km;
      best = i;
    }
  }
  if (cache[0] >= capacity / 2) { /* full enough: start over, as the JavaScript cache does */
    for (int32_t i = 0; i < capacity; i++) slots[2 * i] = -1;
    cache[0] = 0;
    h = ((uint32_t)key * 2654435761u) & mask;
  }
  slots[2 * h] = key;
  slots[2 * h + 1] = best;
  cache[0]++;
  return best;
}

static uint32_t group_hash(int32_t domain, int32_t region, double bucket_start) {
  uint64_t b = (uint64_t)(int64_t)(bucket_start / 1000);
  uint64_t x = ((uint64_t)(uint32_t)domain * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)(uint32_t)region * 0xC2B2AE3D27D4EB4Full) ^ (b * 0x165667B19E3779F9ull);
  x ^= x >> 29;
  return (uint32_t)x;
}

static int groups_grow_slots(groups_t *g) {
  int32_t n = (g->slot_mask + 1) * 2;
  int32_t *slots = calloc((size_t)n, sizeof(int32_t));
  if (!slots) return 0;
  for (int32_t i = 0; i < g->count; i++) {
    group_t *e = &g->groups[i];
    uint32_t h = group_hash(e->domain, e->region, e->bucket_start) & (uint32_t)(n - 1);
    while (slots[h]) h = (h + 1) & (uint32_t)(n - 1);
    slots[h] = i + 1;
  }
  free(g->slots);
  g->slots = slots;
  g->slot_mask = n - 1;
  return 1;
}

static group_t *group_for(groups_t *g, int32_t domain, int32_t region, double bucket_start) {
  uint32_t h = group_hash(domain, region, bucket_start) & (uint32_t)g->slot_mask;
  for (;;) {
    int32_t s = g->slots[h];
    if (!s) break;
    group_t *e = &g->groups[s - 1];
    if (e->domain == domain && e->region == region && e->bucket_start == bucket_start) return e;
    h = (h + 1) & (uint32_t)g->slot_mask;
  }
  if (g->count == g->cap) {
    int32_t cap = g->cap ? g->cap * 2 : 64;
    group_t *groups = realloc(g->groups, (size_t)cap * sizeof(group_t));
    if (!groups) return NULL;
    g->groups = groups;
    g->cap = cap;
  }
  group_t *e = &g->groups[g->count];
  memset(e, 0, sizeof(*e));
  e->domain = domain;
  e->region = region;
  e->bucket_start = bucket_start;
  e->min = INFINITY;
  e->max = -INFINITY;
  e->key_lo = 1;
  e->key_hi = 0;
  g->slots[h] = ++g->count;
  if (g->count * 2 > g->slot_mask + 1 && !groups_grow_slots(g)) return NULL;
  return e;
}

/* DenseStore.add(key, 1) on the group's own dense bins. */
static int add_key(group_t *e, int32_t key) {
  if (!e->bins || key < e->bins_offset || key >= e->bins_offset + e->bins_cap) {
    int32_t lo = e->key_lo <= e->key_hi ? (key < e->key_lo ? key : e->key_lo) : key;
    int32_t hi = e->key_lo <= e->key_hi ? (key > e->key_hi ? key : e->key_hi) : key;
    int32_t span = hi - lo + 1;
    int32_t cap = 64;
    while (cap < span + 32) cap *= 2;
    double *bins = calloc((size_t)cap, sizeof(double));
    if (!bins) return 0;
    int32_t offset = lo - (cap - span) / 2;
    if (e->bins)
      for (int32_t k = e->key_lo; k <= e->key_hi; k++) bins[k - offset] = e->bins[k - e->bins_offset];
    free(e->bins);
    e->bins = bins;
    e->bins_offset = offset;
    e->bins_cap = cap;
  }
  if (e->key_lo > e->key_hi) {
    e->key_lo = e->key_hi = key;
  } else {
    if (key < e->key_lo) e->key_lo = key;
    if (key > e->key_hi) e->key_hi = key;
  }
  e->bins[key - e->bins_offset] += 1;
  return 1;
}

typedef struct {
  double *items;
  size_t count, cap;
} doubles_t;

static int push3(doubles_t *d, double a, double b, double c) {
  if (d->count + 3 > d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 96;
    double *items = realloc(d->items, cap * sizeof(double));
    if (!items) return 0;
    d->items = items;
    d->cap = cap;
  }
  d->items[d->count++] = a;
  d->items[d->count++] = b;
  d->items[d->count++] = c;
  return 1;
}

/* telemetry-scanner.c: a typed array argument of the wanted type, its data and length. */
int telemetry_typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length);

static napi_value float64_array(napi_env env, const double *items, size_t count) {
  void *data;
  napi_value ab, out;
  NAPI_CALL(env, napi_create_arraybuffer(env, count * sizeof(double), &data, &ab));
  if (count) memcpy(data, items, count * sizeof(double));
  NAPI_CALL(env, napi_create_typedarray(env, napi_float64_array, count, ab, 0, &out));
  return out;
}

static void free_groups(groups_t *g) {
  for (int32_t i = 0; i < g->count; i++) free(g->groups[i].bins);
  free(g->groups);
  free(g->slots);
}

napi_value telemetry_aggregate(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 10) {
    js_throw_type_error(env, "aggregate(values, domains, domainIds, kinds, recordEnds, from, to, regions, cellCache, params)");
    return NULL;
  }
  double *values, *regions, *params;
  int32_t *domains, *domain_ids, *record_ends, *cache;
  uint8_t *kinds;
  size_t n_values, n_domains, n_domain_ids, n_kinds, n_record_ends, n_regions, n_cache, n_params;
  int32_t from, to;
  if (!telemetry_typed_array(env, argv[0], napi_float64_array, (void **)&values, &n_values) || !telemetry_typed_array(env, argv[1], napi_int32_array, (void **)&domains, &n_domains) ||
      !telemetry_typed_array(env, argv[2], napi_int32_array, (void **)&domain_ids, &n_domain_ids) || !telemetry_typed_array(env, argv[3], napi_uint8_array, (void **)&kinds, &n_kinds) ||
      !telemetry_typed_array(env, argv[4], napi_int32_array, (void **)&record_ends, &n_record_ends) || napi_get_value_int32(env, argv[5], &from) != napi_ok ||
      napi_get_value_int32(env, argv[6], &to) != napi_ok || !telemetry_typed_array(env, argv[7], napi_float64_array, (void **)&regions, &n_regions) ||
      !telemetry_typed_array(env, argv[8], napi_int32_array, (void **)&cache, &n_cache) || !telemetry_typed_array(env, argv[9], napi_float64_array, (void **)&params, &n_params)) {
    js_throw_type_error(env, "aggregate: wrong argument types");
    return NULL;
  }
  int32_t capacity = (int32_t)((n_cache - 1) / 2);
  if (from < 0 || to < from || (size_t)to > n_kinds || (size_t)to > n_record_ends || n_params < AGGREGATION_PARAMS || n_regions < 2 || capacity < 2 ||
      (capacity & (capacity - 1)) != 0) {
    js_throw_range_error(env, "aggregate: a range or an array size is wrong");
    return NULL;
  }
  double max_event = params[0], lateness = params[1], now = params[2], max_skew = params[3], bucket_ms = params[4];
  double multiplier = params[5], key_offset = params[6], min_possible = params[7];
  double max_event_time = params[8], max_latency = params[9], max_record_bytes = params[10];
  int32_t n_region_count = (int32_t)(n_regions / 2);
  size_t n_records = n_values / VALUES_PER_RECORD < n_domains / DOMAIN_FIELDS_PER_RECORD ? n_values / VALUES_PER_RECORD : n_domains / DOMAIN_FIELDS_PER_RECORD;

  groups_t g = {0};
  doubles_t bins = {0}, rejections = {0};
  int ok = 1;
  g.slots = calloc(256, sizeof(int32_t));
  g.slot_mask = 255;
  ok = g.slots != NULL;
  double accepted = 0;
  int32_t i = from;
  for (; ok && i < to; i++) {
    if (kinds[i] == 0) break;
    int32_t start = i == 0 ? 0 : record_ends[i - 1], end = record_ends[i];
    if (start < 0 || end < start || (size_t)end > n_records) break;
    int whole = 1;
    for (int32_t r = start; r < end && whole; r++) {
      const double *v = values + VALUES_PER_RECORD * r;
      int32_t first = domains[DOMAIN_FIELDS_PER_RECORD * r + 2];
      whole = first >= 0 && (size_t)first < n_domain_ids && domain_ids[first] >= 0 && is_safe_integer(v[0]) && v[0] >= 0 && v[0] <= max_event_time &&
              is_safe_integer(v[3]) && v[3] >= 100 && v[3] <= 599 && v[4] >= 0 && v[4] <= max_latency && is_safe_integer(v[5]) && v[5] >= 0 &&
              v[5] <= max_record_bytes && v[1] >= -90 && v[1] <= 90 && v[2] >= -180 && v[2] <= 180;
    }
    if (!whole) break;
    for (int32_t r = start; ok && r < end; r++) {
      const double *v = values + VALUES_PER_RECORD * r;
      double ts = v[0];
      if (ts > now + max_skew) {
        ok = push3(&rejections, r, REJECTED_TOO_FAR_IN_FUTURE, 0);
        continue;
      }
      double bucket_start = floor(ts / bucket_ms) * bucket_ms;
      double watermark = max_event - lateness;
      if (bucket_start + bucket_ms <= watermark) {
        ok = push3(&rejections, r, REJECTED_LATE, watermark);
        continue;
      }
      int32_t region = nearest_region(v[1], v[2], regions, n_region_count, cache, capacity);
      group_t *e = group_for(&g, domain_ids[domains[DOMAIN_FIELDS_PER_RECORD * r + 2]], region, bucket_start);
      if (!e) {
        ok = 0;
        break;
      }
      double latency = v[4];
      e->requests += 1;
      if (v[3] >= 500) e->errors += 1;
      e->bytes += (uint64_t)v[5]; /* a safe integer in 0..MAX_RECORD_BYTES (checked above) */
      if (latency > e->latency_max) e->latency_max = latency;
      if (latency > min_possible) {
        ok = add_key(e, (int32_t)(ceil(log2(latency) * multiplier) + key_offset));
      } else {
        e->zero_count += 1;
      }
      e->sum += latency;
      if (latency < e->min) e->min = latency;
      if (latency > e->max) e->max = latency;
      double high_mark = ts < now ? ts : now;
      if (high_mark > max_event) max_event = high_mark;
      accepted += 1;
    }
  }
  double *rows = NULL;
  if (ok) {
    rows = malloc(((size_t)g.count * GROUP_FIELDS + 1) * sizeof(double));
    ok = rows != NULL;
  }
  for (int32_t k = 0; ok && k < g.count; k++) {
    group_t *e = &g.groups[k];
    double *row = rows + (size_t)k * GROUP_FIELDS;
    int32_t n = e->key_lo <= e->key_hi ? e->key_hi - e->key_lo + 1 : 0;
    row[0] = e->domain;
    row[1] = e->region;
    row[2] = e->bucket_start;
    row[3] = e->requests;
    row[4] = e->errors;
    row[5] = (double)(e->bytes >> 32);
    row[6] = e->latency_max;
    row[7] = e->zero_count;
    row[8] = e->min;
    row[9] = e->max;
    row[10] = e->sum;
    row[11] = n ? e->key_lo : 0;
    row[12] = n;
    row[13] = (double)bins.count;
    row[14] = (double)(e->bytes & 0xffffffffu);
    if (bins.count + (size_t)n > bins.cap) {
      size_t cap = bins.cap ? bins.cap : 1024;
      while (cap < bins.count + (size_t)n) cap *= 2;
      double *items = realloc(bins.items, cap * sizeof(double));
      if (!items) {
        ok = 0;
        break;
      }
      bins.items = items;
      bins.cap = cap;
    }
    if (n) memcpy(bins.items + bins.count, e->bins + (e->key_lo - e->bins_offset), (size_t)n * sizeof(double));
    bins.count += (size_t)n;
  }
  napi_value result = NULL;
  if (!ok) {
    js_throw_error(env, "aggregate: out of memory");
    goto done;
  }
  napi_value items[6];
  NAPI_CALL_OR(env, napi_create_int32(env, i - from, &items[0]), goto failed);
  NAPI_CALL_OR(env, napi_create_double(env, accepted, &items[1]), goto failed);
  NAPI_CALL_OR(env, napi_create_double(env, max_event, &items[2]), goto failed);
  if (!(items[3] = float64_array(env, rows, (size_t)g.count * GROUP_FIELDS)) || !(items[4] = float64_array(env, bins.items, bins.count)) ||
      !(items[5] = float64_array(env, rejections.items, rejections.count)))
    goto failed;
  NAPI_CALL_OR(env, napi_create_array_with_length(env, 6, &result), goto failed);
  for (uint32_t k = 0; k < 6; k++) NAPI_CALL_OR(env, napi_set_element(env, result, k, items[k]), goto failed);
  goto done;
failed: /* the failed call has thrown */
  result = NULL;
done:
  free(rows);
  free(bins.items);
  free(rejections.items);
  free_groups(&g);
  return result;
}
