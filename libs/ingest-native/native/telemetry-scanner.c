/*
 * The telemetry byte scanner (libs/telemetry/src/telemetry-scanner.ts) in C, for the messages of a
 * packed Kafka batch: one call scans every message of a partition run and writes the field values
 * of the records it finds into typed arrays. It follows the TypeScript scanner's grammar step for
 * step and answers only where that scanner would; everything else is left to JavaScript (the
 * TypeScript scanner, then JSON.parse + the contract schema), so validation and every rejection
 * reason stay in one place. A differential property test holds the two scanners to the same
 * output on valid, hostile and mutated input.
 *
 * Only the syntax is checked here; the values' ranges and the domain's normalisation are checked
 * by commonRecordOf in JavaScript, and a message with a record it refuses goes to JavaScript whole.
 *
 * JS API:
 *   scan(buf: Buffer, starts: Int32Array, ends: Int32Array, count: number,
 *        kinds: Uint8Array, recordEnds: Int32Array, values: Float64Array, domains: Int32Array) -> records
 *   Message i is buf[starts[i], ends[i]). kinds[i]: 0 = not answered (JavaScript decides),
 *   1 = one record, 2 = a `{"records": [...]}` batch. Its records are recordEnds[i-1]..recordEnds[i]
 *   (recordEnds[-1] = 0). Record r: values[6r..6r+5] = timestamp, lat, lon, status, latencyMs,
 *   bytes; domains[3r..3r+2] = the domain's start and length in buf, and the index of the first
 *   record of this call with the same domain bytes (r itself for the first), so JavaScript makes
 *   one string per distinct domain. When values or domains are full, the remaining messages are
 *   not answered.
 *   scanAsync(same arguments) -> Promise<records>: the same scan on libuv's thread pool (the event
 *   loop is ingest's bottleneck). The arrays and buffer are referenced until it settles; the
 *   caller must not touch them before.
 *
 * aggregate(...) is in telemetry-aggregator.c, the same addon.
 *
 * Built by libs/ingest-native/native/build.sh; wrapped by libs/ingest-native/src/native-telemetry-scanner.ts,
 * which implements libs/telemetry's PackedTelemetryScanner.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "addon-build.h"
#include "napi-call.h"
#include "telemetry-layout.h"

enum {
  F_NONE = 0,
  F_DOMAIN = 1,
  F_TIMESTAMP = 2,
  F_CLIENT = 4,
  F_STATUS = 8,
  F_LATENCY = 16,
  F_BYTES = 32,
  F_ALL = 63,
  F_LAT = 64,
  F_LON = 128,
  F_RECORDS = 256,
};

typedef struct {
  const uint8_t *b;
  int32_t pos;
  int32_t end;
  int ok;
} scan_t;

typedef struct {
  double timestamp, lat, lon, status, latency, bytes;
  int32_t domain_start, domain_len;
} record_t;

static const double POWERS_OF_TEN[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
/* 10^k for k <= 27 is exact in a long double's 64-bit significand (5^27 < 2^63). */
static const long double POWERS_OF_TEN_LONG[28] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                                   1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

static void ws(scan_t *s) {
  int32_t p = s->pos;
  while (p < s->end) {
    uint8_t c = s->b[p];
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    p++;
  }
  s->pos = p;
}

static int expect(scan_t *s, uint8_t byte) {
  ws(s);
  if (s->pos >= s->end || s->b[s->pos] != byte) return (s->ok = 0);
  s->pos++;
  return 1;
}

static int same(const uint8_t *b, int32_t start, const char *text, int32_t length) { return memcmp(b + start, text, (size_t)length) == 0; }

static int field_of(const uint8_t *b, int32_t start, int32_t length) {
  switch (length) {
    case 3:
      if (b[start] != 'l') return F_NONE;
      if (b[start + 2] == 't') return same(b, start, "lat", 3) ? F_LAT : F_NONE;
      return same(b, start, "lon", 3) ? F_LON : F_NONE;
    case 5:
      return same(b, start, "bytes", 5) ? F_BYTES : F_NONE;
    case 6:
      if (b[start] == 'd') return same(b, start, "domain", 6) ? F_DOMAIN : F_NONE;
      if (b[start] == 'c') return same(b, start, "client", 6) ? F_CLIENT : F_NONE;
      return same(b, start, "status", 6) ? F_STATUS : F_NONE;
    case 7:
      return same(b, start, "records", 7) ? F_RECORDS : F_NONE;
    case 9:
      if (b[start] == 't') return same(b, start, "timestamp", 9) ? F_TIMESTAMP : F_NONE;
      return same(b, start, "latencyMs", 9) ? F_LATENCY : F_NONE;
    default:
      return F_NONE;
  }
}

static int fail(scan_t *s) { return (s->ok = 0); }

/* `"name"` and `:`; the field it names, or F_NONE (unknown, escaped or broken: fails). */
static int key(scan_t *s) {
  if (!expect(s, '"')) return F_NONE;
  int32_t start = s->pos, p = start;
  while (p < s->end && s->b[p] != '"') {
    if (s->b[p] == '\\') return fail(s);
    p++;
  }
  if (p >= s->end) return fail(s);
  s->pos = p + 1;
  int field = field_of(s->b, start, p - start);
  if (field == F_NONE || !expect(s, ':')) return fail(s);
  return field;
}

/* A printable-ASCII string without escapes: its bytes' start and length. */
static int ascii_string(scan_t *s, int32_t *start_out, int32_t *len_out) {
  if (!expect(s, '"')) return 0;
  int32_t start = s->pos, p = start;
  for (;;) {
    if (p >= s->end) return fail(s);
    uint8_t c = s->b[p];
    if (c == '"') break;
    if (c < 0x20 || c > 0x7e || c == '\\') return fail(s);
    p++;
  }
  s->pos = p + 1;
  *start_out = start;
  *len_out = p - start;
  return 1;
}

/* A JSON number, grammar-checked like the TypeScript scanner, with the same value. */
static double number(scan_t *s) {
  ws(s);
  const uint8_t *b = s->b;
  int32_t end = s->end, start = s->pos, p = start;
  int negative = p < end && b[p] == '-';
  if (negative) p++;
  int c = p < end ? b[p] : -1;
  double value = 0;
  uint64_t mantissa = 0; /* the digits as an integer, exact while digits <= 19 */
  int digits = 0;
  if (c == '0') {
    p++;
    digits = 1;
  } else if (c > '0' && c <= '9') {
    while (p < end && (c = b[p]) >= '0' && c <= '9') {
      value = value * 10 + (c - '0');
      mantissa = mantissa * 10 + (uint64_t)(c - '0');
      digits++;
      p++;
    }
  } else {
    s->ok = 0;
    return 0;
  }
  int exact = 1;
  int fraction_digits = 0;
  if (p < end && b[p] == '.') {
    p++;
    int32_t fraction_start = p;
    while (p < end && (c = b[p]) >= '0' && c <= '9') {
      value = value * 10 + (c - '0');
      mantissa = mantissa * 10 + (uint64_t)(c - '0');
      digits++;
      p++;
    }
    fraction_digits = p - fraction_start;
    if (fraction_digits == 0) return (s->ok = 0);
  }
  c = p < end ? b[p] : -1;
  if (c == 'e' || c == 'E') {
    exact = 0;
    p++;
    if (p < end && (b[p] == '+' || b[p] == '-')) p++;
    int32_t exponent_start = p;
    while (p < end && (c = b[p]) >= '0' && c <= '9') p++;
    if (p == exponent_start) return (s->ok = 0);
  } else if (c >= '0' && c <= '9') {
    return (s->ok = 0); /* a leading zero followed by digits */
  }
  s->pos = p;
  if (exact && digits <= 15) {
    /* Clinger's fast path, as in TypeScript: mantissa and 10^k are exact, one division rounds. */
    double magnitude = fraction_digits == 0 ? value : value / POWERS_OF_TEN[fraction_digits];
    return negative ? -magnitude : magnitude;
  }
#if LDBL_MANT_DIG >= 64 /* an x87 or quad long double; where it is a double, strtod decides */
  if (exact && digits <= 19 && fraction_digits <= 27) {
    /* 16-19 digits (clients' coordinates as doubles print 17): the mantissa and 10^k are exact
       in an x87 long double (64-bit significand), so one division rounds once, to 64 bits. The
       true quotient is within half a unit of that, so rounding it to a double gives the correctly
       rounded value unless it sits exactly on a double's halfway point; strtod decides those. */
    long double quotient = (long double)mantissa / POWERS_OF_TEN_LONG[fraction_digits];
    int exponent;
    long double fraction = frexpl(quotient, &exponent);
    uint64_t bits = (uint64_t)ldexpl(fraction, 64);
    if (mantissa == 0 || ((bits & 0x7ff) != 0x400 && quotient >= 0x1p-1022L)) {
      double magnitude = (double)quotient;
      return negative ? -magnitude : magnitude;
    }
  }
#endif
  /* glibc's strtod rounds decimal text correctly, as Number() does. */
  int32_t length = p - start;
  char small[64];
  char *text = length < (int32_t)sizeof small ? small : malloc((size_t)length + 1);
  if (!text) return (s->ok = 0);
  memcpy(text, b + start, (size_t)length);
  text[length] = 0;
  double parsed = strtod(text, NULL);
  if (text != small) free(text);
  return parsed;
}

static int separator(scan_t *s, uint8_t close) {
  ws(s);
  int c = s->pos < s->end ? s->b[s->pos] : -1;
  if (c >= 0) s->pos++; /* at the end the scan fails below: no position past it is needed */
  if (c == ',') return 1;
  if (c != close) s->ok = 0;
  return 0;
}

/* `{"lat": n, "lon": n}` in either order, nothing else. */
static int client(scan_t *s, double *lat, double *lon) {
  if (!expect(s, '{')) return 0;
  int seen = F_NONE;
  do {
    int field = key(s);
    if (field == F_LAT && !(seen & F_LAT)) *lat = number(s);
    else if (field == F_LON && !(seen & F_LON)) *lon = number(s);
    else return fail(s);
    seen |= field;
    if (!s->ok) return 0;
  } while (separator(s, '}'));
  return s->ok && seen == (F_LAT | F_LON);
}

/* One record object whose six members are all present, syntactically. */
static int record(scan_t *s, record_t *r) {
  if (!expect(s, '{')) return 0;
  int seen = F_NONE;
  do {
    int field = key(s);
    if ((field & seen) || field > F_ALL || field == F_NONE) return fail(s);
    seen |= field;
    switch (field) {
      case F_DOMAIN:
        ascii_string(s, &r->domain_start, &r->domain_len);
        break;
      case F_TIMESTAMP:
        r->timestamp = number(s);
        break;
      case F_CLIENT:
        /* TypeScript notes a client without both coordinates and fails the record at its end. */
        if (!client(s, &r->lat, &r->lon)) return fail(s);
        break;
      case F_STATUS:
        r->status = number(s);
        break;
      case F_LATENCY:
        r->latency = number(s);
        break;
      case F_BYTES:
        r->bytes = number(s);
        break;
    }
    if (!s->ok) return 0;
  } while (separator(s, '}'));
  return s->ok && seen == F_ALL;
}

static int at_end(scan_t *s) {
  ws(s);
  return s->pos == s->end;
}

typedef struct {
  double *values;
  int32_t *domains;
  int32_t capacity;
  int32_t count;
  /* Distinct domains of this call: open addressing over (hash, first record). */
  int32_t table_first[1024];
  uint32_t table_hash[1024];
  int32_t table_used;
  const uint8_t *b;
} out_t;

static uint32_t fnv1a(const uint8_t *p, int32_t n) {
  uint32_t h = 2166136261u;
  for (int32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

/* The first record of this call with the same domain bytes, or r itself. */
static int32_t first_with_domain(out_t *o, int32_t r, int32_t start, int32_t length) {
  uint32_t h = fnv1a(o->b + start, length);
  if (o->table_used >= 768) return r; /* nearly full: no more sharing, still correct */
  for (uint32_t i = h & 1023;; i = (i + 1) & 1023) {
    int32_t first = o->table_first[i];
    if (first < 0) {
      o->table_first[i] = r;
      o->table_hash[i] = h;
      o->table_used++;
      return r;
    }
    if (o->table_hash[i] == h && o->domains[DOMAIN_FIELDS_PER_RECORD * first + 1] == length && memcmp(o->b + o->domains[DOMAIN_FIELDS_PER_RECORD * first], o->b + start, (size_t)length) == 0) return first;
  }
}

static void put(out_t *o, const record_t *r) {
  int32_t i = o->count++;
  double *v = o->values + VALUES_PER_RECORD * i;
  v[0] = r->timestamp;
  v[1] = r->lat;
  v[2] = r->lon;
  v[3] = r->status;
  v[4] = r->latency;
  v[5] = r->bytes;
  int32_t *d = o->domains + DOMAIN_FIELDS_PER_RECORD * i;
  d[0] = r->domain_start;
  d[1] = r->domain_len;
  d[2] = first_with_domain(o, i, r->domain_start, r->domain_len);
}

/* Scans buf[start, end): 1 one record, 2 a batch, 0 not answered (o->count restored). */
static int scan_message(out_t *o, int32_t start, int32_t end) {
  scan_t s = {o->b, start, end, 1};
  int32_t count_before = o->count;
  int32_t used_before = o->table_used;
  record_t r;
  int kind = 0;
  ws(&s);
  int32_t object_start = s.pos;
  if (!expect(&s, '{')) return 0;
  ws(&s);
  if (!(end - s.pos >= 9 && same(s.b, s.pos, "\"records\"", 9))) {
    s.pos = object_start;
    if (o->count >= o->capacity) return 0;
    if (record(&s, &r) && at_end(&s)) {
      put(o, &r);
      kind = KIND_RECORD;
    }
  } else {
    key(&s);
    if (expect(&s, '[')) {
      int32_t n = 0;
      int ok = 1;
      do {
        if (!record(&s, &r) || n == MAX_RECORDS_PER_MESSAGE || o->count >= o->capacity) {
          ok = 0;
          break;
        }
        put(o, &r);
        n++;
      } while (separator(&s, ']'));
      if (ok && s.ok && expect(&s, '}') && at_end(&s)) kind = KIND_BATCH;
    }
  }
  if (kind == 0) {
    /* Forget this message's records and the domains they introduced. */
    if (o->table_used != used_before) {
      for (int i = 0; i < 1024; i++)
        if (o->table_first[i] >= count_before) o->table_first[i] = -1;
      o->table_used = used_before;
    }
    o->count = count_before;
  }
  return kind;
}

/* Shared with telemetry-aggregator.c. */
int telemetry_typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, data, &ab, &offset) != napi_ok || type != want) return 0;
  return 1;
}

/* One call's arguments, and (async) the references that keep them alive while a pool thread reads them. */
typedef struct {
  const uint8_t *buf;
  size_t buf_len;
  int32_t *starts, *ends, *record_ends, *domains;
  uint8_t *kinds;
  double *values;
  size_t n_values, n_domains;
  int32_t count;
  int32_t records;
  napi_ref refs[8];
  napi_async_work work;
  napi_deferred deferred;
} scan_job_t;

/* Reads and checks the 8 arguments into job; throws and returns 0 on a bad one. */
static int read_args(napi_env env, napi_callback_info info, napi_value *argv, scan_job_t *job) {
  size_t argc = 8;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 8) {
    js_throw_type_error(env, "scan(buf, starts, ends, count, kinds, recordEnds, values, domains)");
    return 0;
  }
  void *buf;
  if (napi_get_buffer_info(env, argv[0], &buf, &job->buf_len) != napi_ok) {
    js_throw_type_error(env, "buf must be a Buffer");
    return 0;
  }
  job->buf = buf;
  size_t n_starts, n_ends, n_kinds, n_record_ends;
  if (!telemetry_typed_array(env, argv[1], napi_int32_array, (void **)&job->starts, &n_starts) || !telemetry_typed_array(env, argv[2], napi_int32_array, (void **)&job->ends, &n_ends) ||
      napi_get_value_int32(env, argv[3], &job->count) != napi_ok || !telemetry_typed_array(env, argv[4], napi_uint8_array, (void **)&job->kinds, &n_kinds) ||
      !telemetry_typed_array(env, argv[5], napi_int32_array, (void **)&job->record_ends, &n_record_ends) ||
      !telemetry_typed_array(env, argv[6], napi_float64_array, (void **)&job->values, &job->n_values) ||
      !telemetry_typed_array(env, argv[7], napi_int32_array, (void **)&job->domains, &job->n_domains)) {
    js_throw_type_error(env, "scan: starts, ends, recordEnds and domains are Int32Arrays, kinds a Uint8Array, values a Float64Array");
    return 0;
  }
  size_t count = (size_t)job->count;
  if (job->count < 0 || count > n_starts || count > n_ends || count > n_kinds || count > n_record_ends) {
    js_throw_range_error(env, "scan: count exceeds an array");
    return 0;
  }
  return 1;
}

/* The scan itself: no N-API calls, so it runs on the calling thread or a pool thread alike. */
static int run_scan(scan_job_t *job) {
  out_t *o = malloc(sizeof(out_t));
  if (!o) return 0;
  o->values = job->values;
  o->domains = job->domains;
  o->capacity = (int32_t)(job->n_values / VALUES_PER_RECORD < job->n_domains / DOMAIN_FIELDS_PER_RECORD ? job->n_values / VALUES_PER_RECORD : job->n_domains / DOMAIN_FIELDS_PER_RECORD);
  o->count = 0;
  o->table_used = 0;
  o->b = job->buf;
  for (int i = 0; i < 1024; i++) o->table_first[i] = -1;
  for (int32_t i = 0; i < job->count; i++) {
    int32_t start = job->starts[i], end = job->ends[i];
    int kind = 0;
    if (start >= 0 && end >= start && (size_t)end <= job->buf_len) kind = scan_message(o, start, end);
    job->kinds[i] = (uint8_t)kind;
    job->record_ends[i] = o->count;
  }
  job->records = o->count;
  free(o);
  return 1;
}

static napi_value scan(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  scan_job_t job;
  if (!read_args(env, info, argv, &job)) return NULL;
  if (!run_scan(&job)) {
    js_throw_error(env, "scan: out of memory");
    return NULL;
  }
  napi_value result;
  NAPI_CALL(env, napi_create_int32(env, job.records, &result));
  return result;
}

static void scan_execute(napi_env env, void *data) {
  (void)env;
  scan_job_t *job = data;
  if (!run_scan(job)) job->records = -1;
}

static void scan_complete(napi_env env, napi_status status, void *data) {
  scan_job_t *job = data;
  for (int i = 0; i < 8; i++)
    if (job->refs[i]) NAPI_CALL_OR(env, napi_delete_reference(env, job->refs[i]), (void)0);
  napi_value records;
  if (status != napi_ok || job->records < 0) napi_reject_with_message(env, job->deferred, status == napi_ok ? "scan: out of memory" : "scan: cancelled");
  else if (napi_create_int32(env, job->records, &records) != napi_ok) napi_reject_with_message(env, job->deferred, "scan: napi_create_int32 failed");
  else NAPI_CALL_OR(env, napi_resolve_deferred(env, job->deferred, records), (void)0);
  NAPI_CALL_OR(env, napi_delete_async_work(env, job->work), (void)0);
  free(job);
}

/* scanAsync(...same arguments) -> Promise<records>: the scan on libuv's pool, off the event loop. */
static napi_value scan_async(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  scan_job_t *job = calloc(1, sizeof(scan_job_t));
  if (!job) {
    js_throw_error(env, "scanAsync: out of memory");
    return NULL;
  }
  if (!read_args(env, info, argv, job)) {
    free(job);
    return NULL;
  }
  napi_value promise, name;
  for (int i = 0; i < 8; i++)
    if (i != 3) NAPI_CALL_OR(env, napi_create_reference(env, argv[i], 1, &job->refs[i]), goto not_queued);
  NAPI_CALL_OR(env, napi_create_promise(env, &job->deferred, &promise), goto not_queued);
  NAPI_CALL_OR(env, napi_create_string_utf8(env, "shardcast.telemetryScan", NAPI_AUTO_LENGTH, &name), goto not_queued);
  NAPI_CALL_OR(env, napi_create_async_work(env, NULL, name, scan_execute, scan_complete, job, &job->work), goto not_queued);
  NAPI_CALL_OR(env, napi_queue_async_work(env, job->work), goto not_queued);
  return promise;
not_queued:
  /* Nothing else holds the job. A created promise is left pending; the thrown error wins. */
  if (job->work) NAPI_CALL_OR(env, napi_delete_async_work(env, job->work), (void)0);
  for (int i = 0; i < 8; i++)
    if (job->refs[i]) NAPI_CALL_OR(env, napi_delete_reference(env, job->refs[i]), (void)0);
  free(job);
  return NULL;
}

/* telemetry-aggregator.c */
napi_value telemetry_aggregate(napi_env env, napi_callback_info info);

#ifdef SHARDCAST_SANITIZED_BUILD
int register_sanitizer_canary(napi_env env, napi_value exports); /* sanitizer-canary.c */
#endif

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, layout, value;
  NAPI_CALL(env, napi_create_function(env, "aggregate", NAPI_AUTO_LENGTH, telemetry_aggregate, NULL, &fn));
  NAPI_CALL(env, napi_set_named_property(env, exports, "aggregate", fn));
  NAPI_CALL(env, napi_create_function(env, "scan", NAPI_AUTO_LENGTH, scan, NULL, &fn));
  NAPI_CALL(env, napi_set_named_property(env, exports, "scan", fn));
  NAPI_CALL(env, napi_create_function(env, "scanAsync", NAPI_AUTO_LENGTH, scan_async, NULL, &fn));
  NAPI_CALL(env, napi_set_named_property(env, exports, "scanAsync", fn));
  /* telemetry-layout.h, for the loader to compare with the TypeScript source of truth. */
  const struct {
    const char *name;
    int32_t value;
  } constants[] = {
      {"maxRecordsPerMessage", MAX_RECORDS_PER_MESSAGE},
      {"valuesPerRecord", VALUES_PER_RECORD},
      {"domainFieldsPerRecord", DOMAIN_FIELDS_PER_RECORD},
      {"kindRecord", KIND_RECORD},
      {"kindBatch", KIND_BATCH},
      {"groupFields", GROUP_FIELDS},
      {"aggregationParams", AGGREGATION_PARAMS},
      {"rejectionFields", REJECTION_FIELDS},
      {"rejectedTooFarInFuture", REJECTED_TOO_FAR_IN_FUTURE},
      {"rejectedLate", REJECTED_LATE},
  };
  NAPI_CALL(env, napi_create_object(env, &layout));
  for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
    NAPI_CALL(env, napi_create_int32(env, constants[i].value, &value));
    NAPI_CALL(env, napi_set_named_property(env, layout, constants[i].name, value));
  }
  NAPI_CALL(env, napi_set_named_property(env, exports, "layout", layout));
  NAPI_CALL(env, napi_create_string_utf8(env, ADDON_BUILD, NAPI_AUTO_LENGTH, &value));
  NAPI_CALL(env, napi_set_named_property(env, exports, "build", value));
#ifdef SHARDCAST_SANITIZED_BUILD
  if (!register_sanitizer_canary(env, exports)) return NULL;
#endif
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
