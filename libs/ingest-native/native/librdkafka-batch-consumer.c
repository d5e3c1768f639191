/*
 * A librdkafka group consumer for Node that hands JavaScript whole batches, not messages: one
 * Buffer with the batch's values and keys back to back, and typed arrays saying where each message
 * is. kafkajs builds several JS objects per message and decodes record batches in JavaScript;
 * here the fetch, decompression and group protocol run in librdkafka's threads, and the copy into
 * the packed buffer runs on libuv's thread pool, off the event loop. Measured in
 * bench/kafka-client.ts: about twice what kafkajs eachBatch delivers with ingest's per-record work.
 *
 * Built by libs/ingest-native/native/build.sh against the system's librdkafka (Debian: librdkafka-dev).
 * Wrapped by libs/ingest-native/src/librdkafka-batch-consumer.ts; nothing else should call it.
 *
 * JS API (all on the handle returned by open):
 *   open(config: string[] (key, value, ...), topic: string) -> handle
 *   consume(handle, maxMessages, timeoutMs) -> Promise<Batch>
 *     Batch = { count, buffer: Buffer, meta: Int32Array, offsets: Float64Array,
 *               events: { kind: 'assigned' | 'revoked', partitions: number[], at: number }[],
 *               errors: string[] }
 *     meta = [partition, valueStart, valueLength, keyStart, keyLength] per message; a length of
 *     -1 is a null value or key. An event's `at` is the number of messages of this batch that
 *     came before it. Offsets are exact below 2^53.
 *   commit(handle, topic, partitions: number[], nextOffsets: number[]) -> undefined (asynchronous)
 *   assign(handle, topic, partitions: number[], offsets: number[]) -> undefined
 *     answers an 'assigned' event: librdkafka waits for this call (the group's join state is
 *     "wait assign call"), so JS sets each partition's starting offset (-1001: Kafka's committed
 *     offset, else auto.offset.reset) before anything of it is fetched. A seek right after
 *     assignment is not enough: librdkafka 2.0.2 drops it while the committed offset is looked up.
 *   close(handle) -> Promise<void>  (leaves the group; a consume in progress must be awaited first)
 * The rebalance callback reports assignments and leaves assigning to JS; it unassigns revoked and
 * lost partitions itself (eager or cooperative protocol).
 * A consume or close job holds a reference to the handle, so the handle's finalizer never runs
 * while a job uses the client; the finalizer destroys a client left open without leaving the group.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addon-build.h"
#include "napi-call.h"

/* meta row per message: partition, value start, value length, key start, key length (JS reads it). */
#define META_FIELDS 5
#define MAX_ERRORS 16
#define MAX_EVENTS 64

typedef struct {
  int revoked; /* 0 assigned, 1 revoked */
  int at;
  int count;
  int32_t *partitions;
} rebalance_event_t;

typedef struct {
  rd_kafka_t *rk;
  rd_kafka_queue_t *queue;
  int busy;
  int closed;
  /* Filled by the rebalance callback, which runs inside consume on a pool thread. */
  pthread_mutex_t lock;
  rebalance_event_t events[MAX_EVENTS];
  int event_count;
  int messages_so_far;
  char rebalance_error[256];
  int events_dropped;
  int events_unrecorded; /* out of memory for an event's partitions: the batch fails, the client restarts */
  char commit_error[256];
} consumer_t;

typedef struct {
  consumer_t *consumer;
  napi_ref handle_ref;
  int max_messages;
  int timeout_ms;
  napi_async_work work;
  napi_deferred deferred;
  char *buffer;
  size_t buffer_bytes;
  int32_t *meta;
  double *offsets;
  int count;
  rebalance_event_t events[MAX_EVENTS];
  int event_count;
  char errors[MAX_ERRORS][256];
  int error_count;
  char fatal[256];
} consume_job_t;

/* A JS string as a malloc'ed UTF-8 copy, or NULL (not a string, or out of memory). */
static char *string_arg(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
    free(s);
    return NULL;
  }
  return s;
}

static void record_event(consumer_t *c, int revoked, const rd_kafka_topic_partition_list_t *parts) {
  pthread_mutex_lock(&c->lock);
  if (c->event_count < MAX_EVENTS) {
    int32_t *partitions = malloc(sizeof(int32_t) * (size_t)(parts->cnt ? parts->cnt : 1));
    if (partitions) {
      rebalance_event_t *e = &c->events[c->event_count++];
      e->revoked = revoked;
      e->at = c->messages_so_far;
      e->count = parts->cnt;
      e->partitions = partitions;
      for (int i = 0; i < parts->cnt; i++) partitions[i] = parts->elems[i].partition;
    } else {
      c->events_unrecorded++;
    }
  } else {
    c->events_dropped++;
  }
  pthread_mutex_unlock(&c->lock);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque) {
  consumer_t *c = opaque;
  int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  rd_kafka_error_t *error = NULL;
  rd_kafka_resp_err_t assign_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    /* Not assigned here: JS answers with assign() and each partition's stored offset. */
    record_event(c, 0, parts);
    return;
  }
  /* Revoked, or lost, or an error: report first, so JS drops what it had not stored yet. */
  record_event(c, 1, parts);
  if (cooperative && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) error = rd_kafka_incremental_unassign(rk, parts);
  else assign_err = rd_kafka_assign(rk, NULL);
  const char *why = error ? rd_kafka_error_string(error) : assign_err ? rd_kafka_err2str(assign_err) : NULL;
  if (why) {
    pthread_mutex_lock(&c->lock);
    snprintf(c->rebalance_error, sizeof c->rebalance_error, "rebalance: %s", why);
    pthread_mutex_unlock(&c->lock);
  }
  if (error) rd_kafka_error_destroy(error);
}

static void offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets, void *opaque) {
  (void)rk;
  consumer_t *c = opaque;
  const char *why = err && err != RD_KAFKA_RESP_ERR__NO_OFFSET ? rd_kafka_err2str(err) : NULL;
  for (int i = 0; !why && offsets && i < offsets->cnt; i++)
    if (offsets->elems[i].err) why = rd_kafka_err2str(offsets->elems[i].err);
  if (why) {
    pthread_mutex_lock(&c->lock);
    snprintf(c->commit_error, sizeof c->commit_error, "offset commit: %s", why);
    pthread_mutex_unlock(&c->lock);
  }
}

static void destroy_client(consumer_t *c) {
  if (c->rk) {
    rd_kafka_queue_destroy(c->queue);
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    c->rk = NULL;
  }
}

static void finalize_consumer(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  consumer_t *c = data;
  /* No job runs now: each holds a reference to the handle. A client never closed is destroyed
   * without leaving the group (that would block the event loop); its session simply expires. */
  if (c->rk) {
    rd_kafka_queue_destroy(c->queue);
    rd_kafka_destroy_flags(c->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    c->rk = NULL;
  }
  for (int i = 0; i < c->event_count; i++) free(c->events[i].partitions);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t n = 0;
  char *topic = argc == 2 ? string_arg(env, argv[1]) : NULL;
  if (!topic || napi_get_array_length(env, argv[0], &n) != napi_ok) {
    free(topic);
    js_throw_type_error(env, "open(config: string[], topic: string)");
    return NULL;
  }
  char errstr[512] = "invalid configuration entry (not a string)";
  consumer_t *c = calloc(1, sizeof *c);
  if (!c) {
    free(topic);
    js_throw_error(env, "open: out of memory");
    return NULL;
  }
  pthread_mutex_init(&c->lock, NULL);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  for (uint32_t i = 0; i + 1 < n; i += 2) {
    napi_value k, v;
    char *ks = NULL, *vs = NULL;
    if (napi_get_element(env, argv[0], i, &k) == napi_ok && napi_get_element(env, argv[0], i + 1, &v) == napi_ok) {
      ks = string_arg(env, k);
      vs = string_arg(env, v);
    }
    rd_kafka_conf_res_t r = ks && vs ? rd_kafka_conf_set(conf, ks, vs, errstr, sizeof errstr) : RD_KAFKA_CONF_INVALID;
    free(ks);
    free(vs);
    if (r != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      pthread_mutex_destroy(&c->lock);
      free(c);
      free(topic);
      js_throw_coded_error(env, "ERR_KAFKA_CONFIG", errstr);
      return NULL;
    }
  }
  rd_kafka_conf_set_opaque(conf, c);
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rd_kafka_conf_set_offset_commit_cb(conf, offset_commit_cb);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(conf); /* rd_kafka_new takes it only when it succeeds */
    pthread_mutex_destroy(&c->lock);
    free(c);
    free(topic);
    js_throw_coded_error(env, "ERR_KAFKA_CREATE", errstr);
    return NULL;
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
  free(topic);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) {
    rd_kafka_destroy(rk);
    pthread_mutex_destroy(&c->lock);
    free(c);
    js_throw_coded_error(env, "ERR_KAFKA_SUBSCRIBE", rd_kafka_err2str(err));
    return NULL;
  }
  c->rk = rk;
  c->queue = rd_kafka_queue_get_consumer(rk);
  napi_value handle;
  NAPI_CALL_OR(env, napi_create_external(env, c, finalize_consumer, NULL, &handle), finalize_consumer(env, c, NULL); return NULL);
  return handle;
}

static void add_error(consume_job_t *job, const char *fmt, const char *what) {
  if (job->error_count < MAX_ERRORS) snprintf(job->errors[job->error_count++], 256, fmt, what);
}

/* Keeps every position in the Int32 meta rows valid (and far below Node's Buffer limit): a call
 * stops taking messages once the batch holds this many bytes; the rest waits for the next. */
#define MAX_BATCH_BYTES ((size_t)1 << 30)

static void consume_execute(napi_env env, void *data) {
  (void)env;
  consume_job_t *job = data;
  consumer_t *c = job->consumer;
  rd_kafka_message_t **msgs = malloc(sizeof *msgs * (size_t)job->max_messages);
  if (!msgs) {
    snprintf(job->fatal, sizeof job->fatal, "out of memory for %d message pointers", job->max_messages);
    return;
  }
  int got = 0, good = 0;
  size_t bytes = 0;
  c->messages_so_far = 0;
  /* One poll per message, not rd_kafka_consume_batch_queue: the rebalance callback runs inside a
   * poll, and only this way do we know how many messages came before it (`at`), which JS needs
   * to drop exactly the messages of a revoked partition that precede the revocation. Waits up
   * to timeout_ms for the first message, then takes what is already queued. */
  while (got < job->max_messages && bytes < MAX_BATCH_BYTES) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, got == 0 ? job->timeout_ms : 0);
    if (!m) break;
    msgs[got++] = m;
    if (!m->err) {
      c->messages_so_far = ++good;
      bytes += m->len + m->key_len;
    } else if (m->err == RD_KAFKA_RESP_ERR__FATAL && !job->fatal[0]) {
      char reason[200];
      rd_kafka_fatal_error(c->rk, reason, sizeof reason);
      snprintf(job->fatal, sizeof job->fatal, "fatal consumer error: %s", reason);
    }
  }
  job->buffer = malloc(bytes ? bytes : 1);
  job->meta = malloc(sizeof(int32_t) * META_FIELDS * (size_t)(good ? good : 1));
  job->offsets = malloc(sizeof(double) * (size_t)(good ? good : 1));
  if (!job->buffer || !job->meta || !job->offsets) {
    /* Nothing of this batch is handed over or committed: the group delivers it again. */
    snprintf(job->fatal, sizeof job->fatal, "out of memory for a batch of %zu bytes", bytes);
    for (int i = 0; i < got; i++) rd_kafka_message_destroy(msgs[i]);
    free(msgs);
    return;
  }
  size_t at = 0;
  int k = 0;
  for (int i = 0; i < got; i++) {
    rd_kafka_message_t *m = msgs[i];
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) add_error(job, "%s", rd_kafka_message_errstr(m));
    } else {
      int32_t *row = job->meta + META_FIELDS * k;
      row[0] = m->partition;
      row[1] = (int32_t)at;
      row[2] = m->payload ? (int32_t)m->len : -1;
      if (m->payload) {
        memcpy(job->buffer + at, m->payload, m->len);
        at += m->len;
      }
      row[3] = (int32_t)at;
      row[4] = m->key ? (int32_t)m->key_len : -1;
      if (m->key) {
        memcpy(job->buffer + at, m->key, m->key_len);
        at += m->key_len;
      }
      job->offsets[k] = (double)m->offset;
      k++;
    }
    rd_kafka_message_destroy(m);
  }
  free(msgs);
  job->buffer_bytes = at;
  job->count = k;
  pthread_mutex_lock(&c->lock);
  job->event_count = c->event_count;
  for (int i = 0; i < c->event_count; i++) job->events[i] = c->events[i];
  c->event_count = 0;
  if (c->events_unrecorded) {
    snprintf(job->fatal, sizeof job->fatal, "out of memory recording %d rebalance events", c->events_unrecorded);
    c->events_unrecorded = 0;
  } else if (c->events_dropped) {
    snprintf(job->fatal, sizeof job->fatal, "%d rebalance events over the limit of %d in one call", c->events_dropped, MAX_EVENTS);
    c->events_dropped = 0;
  }
  if (c->rebalance_error[0]) {
    add_error(job, "%s", c->rebalance_error);
    c->rebalance_error[0] = 0;
  }
  if (c->commit_error[0]) {
    add_error(job, "%s", c->commit_error);
    c->commit_error[0] = 0;
  }
  pthread_mutex_unlock(&c->lock);
}

static void free_data(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* The JS array of one batch's rebalance events; NULL (thrown) when a call fails. */
static napi_value events_array(napi_env env, const consume_job_t *job) {
  napi_value events;
  NAPI_CALL(env, napi_create_array_with_length(env, (size_t)job->event_count, &events));
  for (int i = 0; i < job->event_count; i++) {
    const rebalance_event_t *e = &job->events[i];
    napi_value ev, kind, at, parts, partition;
    NAPI_CALL(env, napi_create_object(env, &ev));
    NAPI_CALL(env, napi_create_string_utf8(env, e->revoked ? "revoked" : "assigned", NAPI_AUTO_LENGTH, &kind));
    NAPI_CALL(env, napi_create_int32(env, e->at, &at));
    NAPI_CALL(env, napi_create_array_with_length(env, (size_t)e->count, &parts));
    for (int p = 0; p < e->count; p++) {
      NAPI_CALL(env, napi_create_int32(env, e->partitions[p], &partition));
      NAPI_CALL(env, napi_set_element(env, parts, (uint32_t)p, partition));
    }
    NAPI_CALL(env, napi_set_named_property(env, ev, "kind", kind));
    NAPI_CALL(env, napi_set_named_property(env, ev, "at", at));
    NAPI_CALL(env, napi_set_named_property(env, ev, "partitions", parts));
    NAPI_CALL(env, napi_set_element(env, events, (uint32_t)i, ev));
  }
  return events;
}

/*
 * The Batch object (see the header comment); NULL (thrown) when a call fails. The buffer, meta and
 * offsets pass to JS as they are wrapped (the job's pointers are cleared first). Should a wrapping
 * call fail, N-API does not say whether it already ran the finalizer: that memory is leaked rather
 * than risk a double free.
 */
static napi_value batch_object(napi_env env, consume_job_t *job) {
  napi_value result, buffer, meta_ab, meta, offsets_ab, offsets, count, events, errors, error;
  size_t messages = (size_t)job->count;
  char *buffer_data = job->buffer;
  int32_t *meta_data = job->meta;
  double *offsets_data = job->offsets;
  job->buffer = NULL;
  job->meta = NULL;
  job->offsets = NULL;
  NAPI_CALL_OR(env, napi_create_external_buffer(env, job->buffer_bytes, buffer_data, free_data, NULL, &buffer), free(meta_data); free(offsets_data); return NULL);
  NAPI_CALL_OR(env, napi_create_external_arraybuffer(env, meta_data, sizeof(int32_t) * META_FIELDS * messages, free_data, NULL, &meta_ab), free(offsets_data); return NULL);
  NAPI_CALL_OR(env, napi_create_external_arraybuffer(env, offsets_data, sizeof(double) * messages, free_data, NULL, &offsets_ab), return NULL);
  NAPI_CALL(env, napi_create_typedarray(env, napi_int32_array, META_FIELDS * messages, meta_ab, 0, &meta));
  NAPI_CALL(env, napi_create_typedarray(env, napi_float64_array, messages, offsets_ab, 0, &offsets));
  NAPI_CALL(env, napi_create_int32(env, job->count, &count));
  if (!(events = events_array(env, job))) return NULL;
  NAPI_CALL(env, napi_create_array_with_length(env, (size_t)job->error_count, &errors));
  for (int i = 0; i < job->error_count; i++) {
    NAPI_CALL(env, napi_create_string_utf8(env, job->errors[i], NAPI_AUTO_LENGTH, &error));
    NAPI_CALL(env, napi_set_element(env, errors, (uint32_t)i, error));
  }
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_set_named_property(env, result, "count", count));
  NAPI_CALL(env, napi_set_named_property(env, result, "buffer", buffer));
  NAPI_CALL(env, napi_set_named_property(env, result, "meta", meta));
  NAPI_CALL(env, napi_set_named_property(env, result, "offsets", offsets));
  NAPI_CALL(env, napi_set_named_property(env, result, "events", events));
  NAPI_CALL(env, napi_set_named_property(env, result, "errors", errors));
  return result;
}

static void consume_complete(napi_env env, napi_status status, void *data) {
  consume_job_t *job = data;
  job->consumer->busy = 0;
  NAPI_CALL_OR(env, napi_delete_reference(env, job->handle_ref), (void)0);
  if (status != napi_ok || job->fatal[0]) {
    napi_reject_with_message(env, job->deferred, job->fatal[0] ? job->fatal : "consume cancelled");
  } else {
    napi_value result = batch_object(env, job);
    if (!result) napi_reject_with_pending_exception(env, job->deferred);
    else NAPI_CALL_OR(env, napi_resolve_deferred(env, job->deferred, result), (void)0);
  }
  /* Whatever was not handed to JS. */
  free(job->buffer);
  free(job->meta);
  free(job->offsets);
  for (int i = 0; i < job->event_count; i++) free(job->events[i].partitions);
  NAPI_CALL_OR(env, napi_delete_async_work(env, job->work), (void)0);
  free(job);
}

static consumer_t *handle_arg(napi_env env, napi_value v) {
  consumer_t *c = NULL;
  if (napi_get_value_external(env, v, (void **)&c) != napi_ok || !c) {
    js_throw_type_error(env, "not a consumer handle");
    return NULL;
  }
  return c;
}

static napi_value js_consume(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  consumer_t *c = handle_arg(env, argv[0]);
  if (!c) return NULL;
  if (c->closed || c->busy) {
    js_throw_error(env, c->closed ? "consumer is closed" : "a consume is already in progress");
    return NULL;
  }
  consume_job_t *job = calloc(1, sizeof *job);
  if (!job) {
    js_throw_error(env, "consume: out of memory");
    return NULL;
  }
  job->consumer = c;
  if (napi_get_value_int32(env, argv[1], &job->max_messages) != napi_ok || napi_get_value_int32(env, argv[2], &job->timeout_ms) != napi_ok) {
    free(job);
    js_throw_type_error(env, "consume(handle, maxMessages, timeoutMs)");
    return NULL;
  }
  if (job->max_messages < 1) job->max_messages = 1;
  napi_value promise, name;
  NAPI_CALL_OR(env, napi_create_reference(env, argv[0], 1, &job->handle_ref), goto not_queued);
  NAPI_CALL_OR(env, napi_create_promise(env, &job->deferred, &promise), goto not_queued);
  NAPI_CALL_OR(env, napi_create_string_utf8(env, "librdkafka-consume", NAPI_AUTO_LENGTH, &name), goto not_queued);
  NAPI_CALL_OR(env, napi_create_async_work(env, NULL, name, consume_execute, consume_complete, job, &job->work), goto not_queued);
  NAPI_CALL_OR(env, napi_queue_async_work(env, job->work), goto not_queued);
  c->busy = 1;
  return promise;
not_queued: /* a created promise is left pending: the thrown error wins */
  if (job->work) NAPI_CALL_OR(env, napi_delete_async_work(env, job->work), (void)0);
  if (job->handle_ref) NAPI_CALL_OR(env, napi_delete_reference(env, job->handle_ref), (void)0);
  free(job);
  return NULL;
}

/* Reads (partitions[], offsets[]) into a list for `topic`; NULL with a JS exception on bad input. */
static rd_kafka_topic_partition_list_t *partition_list_arg(napi_env env, napi_value topic_v, napi_value parts_v, napi_value offsets_v) {
  uint32_t n = 0, m = 0;
  char *topic = string_arg(env, topic_v);
  if (!topic || napi_get_array_length(env, parts_v, &n) != napi_ok || napi_get_array_length(env, offsets_v, &m) != napi_ok || n != m) {
    free(topic);
    js_throw_type_error(env, "expected (topic: string, partitions: number[], offsets: number[]) of equal length");
    return NULL;
  }
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value pv, ov;
    int32_t partition;
    double offset;
    if (napi_get_element(env, parts_v, i, &pv) != napi_ok || napi_get_element(env, offsets_v, i, &ov) != napi_ok ||
        napi_get_value_int32(env, pv, &partition) != napi_ok || napi_get_value_double(env, ov, &offset) != napi_ok) {
      free(topic);
      rd_kafka_topic_partition_list_destroy(list);
      js_throw_type_error(env, "partitions and offsets must be numbers");
      return NULL;
    }
    rd_kafka_topic_partition_list_add(list, topic, partition)->offset = (int64_t)offset;
  }
  free(topic);
  return list;
}

static napi_value js_commit(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  consumer_t *c = handle_arg(env, argv[0]);
  if (!c || c->closed) return NULL;
  rd_kafka_topic_partition_list_t *list = partition_list_arg(env, argv[1], argv[2], argv[3]);
  if (!list) return NULL;
  /* Asynchronous: the data is already stored with its offset, this only saves re-reading.
   * Its outcome arrives through offset_commit_cb and is reported with the next batch. */
  rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, list, 1);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) js_throw_error(env, rd_kafka_err2str(err));
  return NULL;
}

/* Answers an 'assigned' event with each partition's starting offset (see the header comment). */
static napi_value js_assign(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  consumer_t *c = handle_arg(env, argv[0]);
  if (!c) return NULL;
  if (c->closed) {
    js_throw_error(env, "consumer is closed");
    return NULL;
  }
  rd_kafka_topic_partition_list_t *list = partition_list_arg(env, argv[1], argv[2], argv[3]);
  if (!list) return NULL;
  char why[256] = "";
  if (strcmp(rd_kafka_rebalance_protocol(c->rk), "COOPERATIVE") == 0) {
    rd_kafka_error_t *error = rd_kafka_incremental_assign(c->rk, list);
    if (error) {
      snprintf(why, sizeof why, "incremental assign: %s", rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
    }
  } else {
    rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, list);
    if (err) snprintf(why, sizeof why, "assign: %s", rd_kafka_err2str(err));
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (why[0]) js_throw_error(env, why);
  return NULL;
}

typedef struct {
  consumer_t *consumer;
  napi_ref handle_ref;
  napi_async_work work;
  napi_deferred deferred;
} close_job_t;

static void close_execute(napi_env env, void *data) {
  (void)env;
  close_job_t *job = data;
  destroy_client(job->consumer);
}

static void close_complete(napi_env env, napi_status status, void *data) {
  (void)status; /* nothing cancels async work here */
  close_job_t *job = data;
  NAPI_CALL_OR(env, napi_delete_reference(env, job->handle_ref), (void)0);
  napi_resolve_undefined(env, job->deferred);
  NAPI_CALL_OR(env, napi_delete_async_work(env, job->work), (void)0);
  free(job);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  consumer_t *c = handle_arg(env, argv[0]);
  if (!c) return NULL;
  if (c->busy) {
    js_throw_error(env, "close while a consume is in progress: await it first");
    return NULL;
  }
  napi_value promise, name;
  close_job_t *job = calloc(1, sizeof *job);
  if (!job) {
    js_throw_error(env, "close: out of memory");
    return NULL;
  }
  job->consumer = c;
  NAPI_CALL_OR(env, napi_create_promise(env, &job->deferred, &promise), goto not_queued);
  if (c->closed) {
    napi_resolve_undefined(env, job->deferred);
    free(job);
    return promise;
  }
  NAPI_CALL_OR(env, napi_create_reference(env, argv[0], 1, &job->handle_ref), goto not_queued);
  NAPI_CALL_OR(env, napi_create_string_utf8(env, "librdkafka-close", NAPI_AUTO_LENGTH, &name), goto not_queued);
  NAPI_CALL_OR(env, napi_create_async_work(env, NULL, name, close_execute, close_complete, job, &job->work), goto not_queued);
  NAPI_CALL_OR(env, napi_queue_async_work(env, job->work), goto not_queued);
  c->closed = 1;
  return promise;
not_queued: /* still open: a later close can try again */
  if (job->work) NAPI_CALL_OR(env, napi_delete_async_work(env, job->work), (void)0);
  if (job->handle_ref) NAPI_CALL_OR(env, napi_delete_reference(env, job->handle_ref), (void)0);
  free(job);
  return NULL;
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  NAPI_CALL(env, napi_create_string_utf8(env, rd_kafka_version_str(), NAPI_AUTO_LENGTH, &v));
  return v;
}

int register_producer(napi_env env, napi_value exports); /* librdkafka-producer.c: 0 (thrown) when it fails */

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"consume", NULL, js_consume, NULL, NULL, NULL, napi_default, NULL},
      {"commit", NULL, js_commit, NULL, NULL, NULL, napi_default, NULL},
      {"assign", NULL, js_assign, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"librdkafkaVersion", NULL, js_version, NULL, NULL, NULL, napi_default, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  if (!register_producer(env, exports)) return NULL;
  /* For the loader to compare with the TypeScript side (LIBRDKAFKA_LAYOUT). */
  napi_value layout, meta_fields, offset_invalid;
  NAPI_CALL(env, napi_create_object(env, &layout));
  NAPI_CALL(env, napi_create_int32(env, META_FIELDS, &meta_fields));
  NAPI_CALL(env, napi_create_int64(env, RD_KAFKA_OFFSET_INVALID, &offset_invalid));
  NAPI_CALL(env, napi_set_named_property(env, layout, "metaFields", meta_fields));
  NAPI_CALL(env, napi_set_named_property(env, layout, "offsetInvalid", offset_invalid));
  NAPI_CALL(env, napi_set_named_property(env, exports, "layout", layout));
  napi_value build;
  NAPI_CALL(env, napi_create_string_utf8(env, ADDON_BUILD, NAPI_AUTO_LENGTH, &build));
  NAPI_CALL(env, napi_set_named_property(env, exports, "build", build));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
