/*
 * A minimal librdkafka consumer for Node that hands JavaScript whole batches, not messages:
 * one Buffer holding the batch's values back to back, plus typed arrays of (partition, start,
 * length) and offsets. It measures what a native consumer could deliver to a JS hot path once the
 * per-message JS objects (kafkajs's, or @confluentinc/kafka-javascript's binding's) are gone.
 * Bench-only: built on demand by bench/kafka-client.ts, never shipped.
 *
 *   gcc -O2 -shared -fPIC -I/usr/include/node packed-consumer.c -lrdkafka -o packed_consumer.node
 *
 * JS API:
 *   open(config: string[] (key, value, key, value, ...), topic: string) -> handle
 *   consume(handle, maxMessages, timeoutMs) -> Promise<{ values: Buffer, meta: Int32Array,
 *           offsets: Float64Array, count: number }>   meta = [partition, start, length] * count
 *   close(handle) -> undefined   (leaves the group, destroys the client)
 * The group, assignment and fetching are librdkafka's (subscribe, its default rebalancing);
 * consume runs on libuv's thread pool, so the event loop is free while a batch is collected.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  rd_kafka_t *rk;
  rd_kafka_queue_t *queue;
  int busy;
} consumer_t;

typedef struct {
  consumer_t *consumer;
  int max_messages;
  int timeout_ms;
  napi_async_work work;
  napi_deferred deferred;
  /* results, filled on the worker thread */
  char *values;
  size_t value_bytes;
  int32_t *meta;
  double *offsets;
  int count;
  char error[256];
} consume_job_t;

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), NULL, "packed-consumer: N-API call failed"); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static char *string_arg(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static void finalize_consumer(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  consumer_t *c = data;
  if (c->rk) {
    rd_kafka_queue_destroy(c->queue);
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
  }
  free(c);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t n = 0;
  CHECK(env, napi_get_array_length(env, argv[0], &n));
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  for (uint32_t i = 0; i + 1 < n; i += 2) {
    napi_value k, v;
    CHECK(env, napi_get_element(env, argv[0], i, &k));
    CHECK(env, napi_get_element(env, argv[0], i + 1, &v));
    char *ks = string_arg(env, k), *vs = string_arg(env, v);
    rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, ks, vs, errstr, sizeof errstr);
    free(ks);
    free(vs);
    if (r != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      napi_throw_error(env, NULL, errstr);
      return NULL;
    }
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!rk) {
    napi_throw_error(env, NULL, errstr);
    return NULL;
  }
  rd_kafka_poll_set_consumer(rk);
  char *topic = string_arg(env, argv[1]);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
  free(topic);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) {
    rd_kafka_destroy(rk);
    napi_throw_error(env, NULL, rd_kafka_err2str(err));
    return NULL;
  }
  consumer_t *c = calloc(1, sizeof *c);
  c->rk = rk;
  c->queue = rd_kafka_queue_get_consumer(rk);
  napi_value handle;
  CHECK(env, napi_create_external(env, c, finalize_consumer, NULL, &handle));
  return handle;
}

static void consume_execute(napi_env env, void *data) {
  (void)env;
  consume_job_t *job = data;
  rd_kafka_message_t **msgs = malloc(sizeof *msgs * (size_t)job->max_messages);
  ssize_t got = rd_kafka_consume_batch_queue(job->consumer->queue, job->timeout_ms, msgs, (size_t)job->max_messages);
  if (got < 0) {
    snprintf(job->error, sizeof job->error, "consume failed: %s", rd_kafka_err2str(rd_kafka_last_error()));
    free(msgs);
    return;
  }
  size_t bytes = 0;
  int count = 0;
  for (ssize_t i = 0; i < got; i++) {
    if (msgs[i]->err) continue;
    bytes += msgs[i]->len;
    count++;
  }
  job->values = malloc(bytes ? bytes : 1);
  job->meta = malloc(sizeof(int32_t) * 3 * (size_t)(count ? count : 1));
  job->offsets = malloc(sizeof(double) * (size_t)(count ? count : 1));
  size_t at = 0;
  int k = 0;
  for (ssize_t i = 0; i < got; i++) {
    rd_kafka_message_t *m = msgs[i];
    if (m->err) {
      /* Partition EOF is off by default; anything else is reported once, the batch still counts. */
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && !job->error[0])
        snprintf(job->error, sizeof job->error, "message error: %s", rd_kafka_message_errstr(m));
    } else {
      memcpy(job->values + at, m->payload, m->len);
      job->meta[3 * k] = m->partition;
      job->meta[3 * k + 1] = (int32_t)at;
      job->meta[3 * k + 2] = (int32_t)m->len;
      job->offsets[k] = (double)m->offset;
      at += m->len;
      k++;
    }
    rd_kafka_message_destroy(m);
  }
  free(msgs);
  job->value_bytes = bytes;
  job->count = count;
}

static void free_data(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void consume_complete(napi_env env, napi_status status, void *data) {
  consume_job_t *job = data;
  job->consumer->busy = 0;
  napi_value result, err_msg, err;
  if (status != napi_ok || (job->error[0] && job->count == 0 && !job->values)) {
    napi_create_string_utf8(env, job->error[0] ? job->error : "consume cancelled", NAPI_AUTO_LENGTH, &err_msg);
    napi_create_error(env, NULL, err_msg, &err);
    napi_reject_deferred(env, job->deferred, err);
  } else {
    napi_value values, meta_ab, meta, offsets_ab, offsets, count;
    napi_create_external_buffer(env, job->value_bytes, job->values, free_data, NULL, &values);
    napi_create_external_arraybuffer(env, job->meta, sizeof(int32_t) * 3 * (size_t)job->count, free_data, NULL, &meta_ab);
    napi_create_typedarray(env, napi_int32_array, 3 * (size_t)job->count, meta_ab, 0, &meta);
    napi_create_external_arraybuffer(env, job->offsets, sizeof(double) * (size_t)job->count, free_data, NULL, &offsets_ab);
    napi_create_typedarray(env, napi_float64_array, (size_t)job->count, offsets_ab, 0, &offsets);
    napi_create_int32(env, job->count, &count);
    napi_create_object(env, &result);
    napi_set_named_property(env, result, "values", values);
    napi_set_named_property(env, result, "meta", meta);
    napi_set_named_property(env, result, "offsets", offsets);
    napi_set_named_property(env, result, "count", count);
    if (job->error[0]) {
      napi_create_string_utf8(env, job->error, NAPI_AUTO_LENGTH, &err_msg);
      napi_set_named_property(env, result, "error", err_msg);
    }
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value js_consume(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  consumer_t *c;
  CHECK(env, napi_get_value_external(env, argv[0], (void **)&c));
  if (!c->rk || c->busy) {
    napi_throw_error(env, NULL, c->rk ? "consume already in progress" : "consumer is closed");
    return NULL;
  }
  consume_job_t *job = calloc(1, sizeof *job);
  job->consumer = c;
  CHECK(env, napi_get_value_int32(env, argv[1], &job->max_messages));
  CHECK(env, napi_get_value_int32(env, argv[2], &job->timeout_ms));
  if (job->max_messages < 1) job->max_messages = 1;
  napi_value promise, name;
  CHECK(env, napi_create_promise(env, &job->deferred, &promise));
  CHECK(env, napi_create_string_utf8(env, "packed-consume", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_create_async_work(env, NULL, name, consume_execute, consume_complete, job, &job->work));
  c->busy = 1;
  CHECK(env, napi_queue_async_work(env, job->work));
  return promise;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  consumer_t *c;
  CHECK(env, napi_get_value_external(env, argv[0], (void **)&c));
  if (c->busy) {
    napi_throw_error(env, NULL, "close while a consume is in progress");
    return NULL;
  }
  if (c->rk) {
    rd_kafka_queue_destroy(c->queue);
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    c->rk = NULL;
  }
  return NULL;
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_string_utf8(env, rd_kafka_version_str(), NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"consume", NULL, js_consume, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"librdkafkaVersion", NULL, js_version, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
