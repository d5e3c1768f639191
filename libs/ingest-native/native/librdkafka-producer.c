/*
 * A librdkafka producer for Node, for the outbox relay: one call hands librdkafka a page of
 * messages and returns a promise that settles when every one has its delivery report. kafkajs
 * encodes each produce request (records, varints, CRC-32C) in JavaScript on the event loop, which
 * at ingest's event rate costs as much as a tenth of ingest's own work; here librdkafka does it in
 * its threads. Part of the same addon as the batch consumer (librdkafka-batch-consumer.c registers
 * these functions); wrapped by libs/ingest-native/src/librdkafka-producer.ts.
 *
 * JS API:
 *   producerOpen(config: string[] (key, value, ...)) -> handle
 *   producerSend(handle, topic: string, keys: string[], values: string[]) -> Promise<void>
 *     resolves when every message is acknowledged (acks as configured), rejects with the first
 *     delivery error otherwise (some messages may then have been written: at-least-once).
 *   producerClose(handle) -> Promise<void>  (flushes; sends in progress must be awaited first)
 *   producerFatalError(handle) -> string | null  (set: this client can no longer produce)
 * Each send job waits for all its delivery reports (librdkafka gives one to every message, at the
 * latest after message.timeout.ms), so no report can reach a freed job; the jobs poll the
 * producer themselves, and a report may arrive on any of them, hence the lock.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "napi-call.h"

typedef struct {
  rd_kafka_t *rk;
  int closed;
  int sending; /* send jobs not yet completed; main thread only */
  pthread_mutex_t lock;
} producer_t;

typedef struct {
  producer_t *p;
  napi_ref handle_ref;
  napi_async_work work;
  napi_deferred deferred;
  int pending; /* messages without a delivery report yet; under p->lock */
  int failed;
  char error[256];
} send_job_t;

typedef struct {
  producer_t *p;
  napi_ref handle_ref;
  napi_async_work work;
  napi_deferred deferred;
  char error[256];
} close_job_t;

static void throw_error(napi_env env, const char *message) { js_throw_error(env, message); }

/* A JS string as a malloc'ed UTF-8 copy (length in *len), or NULL. */
static char *utf8(napi_env env, napi_value v, size_t *len) {
  if (napi_get_value_string_utf8(env, v, NULL, 0, len) != napi_ok) return NULL;
  char *s = malloc(*len + 1);
  if (!s) return NULL;
  if (napi_get_value_string_utf8(env, v, s, *len + 1, len) != napi_ok) {
    free(s);
    return NULL;
  }
  return s;
}

static void delivery_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  producer_t *p = opaque;
  send_job_t *job = m->_private;
  pthread_mutex_lock(&p->lock);
  if (m->err) {
    if (job->failed++ == 0) snprintf(job->error, sizeof job->error, "delivery to %s failed: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
  }
  job->pending--;
  pthread_mutex_unlock(&p->lock);
}

static void finalize_producer(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  producer_t *p = data;
  /* No job runs now (each holds a reference to the handle). Never closed: drop what is queued. */
  if (p->rk) {
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_destroy(p->rk);
  }
  pthread_mutex_destroy(&p->lock);
  free(p);
}

static producer_t *handle_arg(napi_env env, napi_value v) {
  producer_t *p = NULL;
  if (napi_unwrap(env, v, (void **)&p) != napi_ok || !p) {
    throw_error(env, "not a producer handle");
    return NULL;
  }
  return p;
}

static napi_value js_producer_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t n = 0;
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[0], &n) != napi_ok || n % 2) {
    napi_throw_type_error(env, NULL, "producerOpen(config: string[] of key, value pairs)");
    return NULL;
  }
  producer_t *p = calloc(1, sizeof *p);
  if (!p) {
    throw_error(env, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&p->lock, NULL);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char errstr[512] = "";
  for (uint32_t i = 0; i < n; i += 2) {
    napi_value k, v;
    size_t kl, vl;
    napi_get_element(env, argv[0], i, &k);
    napi_get_element(env, argv[0], i + 1, &v);
    char *ks = utf8(env, k, &kl), *vs = utf8(env, v, &vl);
    rd_kafka_conf_res_t r = ks && vs ? rd_kafka_conf_set(conf, ks, vs, errstr, sizeof errstr) : RD_KAFKA_CONF_INVALID;
    free(ks);
    free(vs);
    if (r != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      pthread_mutex_destroy(&p->lock);
      free(p);
      throw_error(env, r == RD_KAFKA_CONF_INVALID && !errstr[0] ? "producer config: not a string" : errstr);
      return NULL;
    }
  }
  rd_kafka_conf_set_opaque(conf, p);
  rd_kafka_conf_set_dr_msg_cb(conf, delivery_report);
  p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!p->rk) {
    rd_kafka_conf_destroy(conf);
    pthread_mutex_destroy(&p->lock);
    free(p);
    throw_error(env, errstr);
    return NULL;
  }
  napi_value handle;
  NAPI_CALL(env, napi_create_object(env, &handle));
  if (napi_wrap(env, handle, p, finalize_producer, NULL, NULL) != napi_ok) {
    rd_kafka_destroy(p->rk);
    pthread_mutex_destroy(&p->lock);
    free(p);
    throw_error(env, "napi_wrap failed");
    return NULL;
  }
  return handle;
}

static void send_execute(napi_env env, void *data) {
  (void)env;
  send_job_t *job = data;
  for (;;) {
    pthread_mutex_lock(&job->p->lock);
    int pending = job->pending;
    pthread_mutex_unlock(&job->p->lock);
    if (pending <= 0) return;
    rd_kafka_poll(job->p->rk, 50);
  }
}

static void send_complete(napi_env env, napi_status status, void *data) {
  send_job_t *job = data;
  job->p->sending--;
  int pending;
  pthread_mutex_lock(&job->p->lock);
  pending = job->pending;
  pthread_mutex_unlock(&job->p->lock);
  napi_value result;
  if (status == napi_ok && job->failed == 0) {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message;
    napi_create_string_utf8(env, job->failed ? job->error : "send cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &result);
    napi_reject_deferred(env, job->deferred, result);
  }
  napi_delete_reference(env, job->handle_ref);
  napi_delete_async_work(env, job->work);
  /* Cancelled before it waited (nothing cancels today): reports may still come, so it is kept. */
  if (pending <= 0) free(job);
}

static napi_value js_producer_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "producerSend(handle, topic, keys: string[], values: string[])");
    return NULL;
  }
  producer_t *p = handle_arg(env, argv[0]);
  if (!p) return NULL;
  if (p->closed) {
    throw_error(env, "producer is closed");
    return NULL;
  }
  char fatal[256];
  if (rd_kafka_fatal_error(p->rk, fatal, sizeof fatal)) {
    /* Nothing more can be produced on this client (e.g. an idempotence failure): the wrapper opens a new one. */
    char message[300];
    snprintf(message, sizeof message, "fatal producer error: %s", fatal);
    throw_error(env, message);
    return NULL;
  }
  uint32_t n = 0, n_values = 0;
  size_t topic_len;
  char *topic = utf8(env, argv[1], &topic_len);
  if (!topic || napi_get_array_length(env, argv[2], &n) != napi_ok || napi_get_array_length(env, argv[3], &n_values) != napi_ok || n != n_values) {
    free(topic);
    napi_throw_type_error(env, NULL, "producerSend: topic is a string, keys and values are string arrays of one length");
    return NULL;
  }
  send_job_t *job = calloc(1, sizeof *job);
  if (!job) {
    free(topic);
    throw_error(env, "out of memory");
    return NULL;
  }
  job->p = p;
  napi_value promise;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    free(topic);
    free(job);
    throw_error(env, "napi_create_promise failed");
    return NULL;
  }
  /* Until every enqueued message is counted, a report cannot drop pending to zero early. */
  pthread_mutex_lock(&p->lock);
  job->pending = (int)n;
  pthread_mutex_unlock(&p->lock);
  for (uint32_t i = 0; i < n; i++) {
    napi_value k, v;
    size_t kl = 0, vl = 0;
    char *key = NULL, *value = NULL;
    const char *why = NULL;
    if (napi_get_element(env, argv[2], i, &k) != napi_ok || napi_get_element(env, argv[3], i, &v) != napi_ok || !(key = utf8(env, k, &kl)) ||
        !(value = utf8(env, v, &vl))) {
      why = "keys and values must be strings";
    } else {
      /* The key is copied; the value is handed over (F_FREE) once librdkafka accepts it. */
      rd_kafka_resp_err_t err = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, kl), RD_KAFKA_V_VALUE(value, vl),
                                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_OPAQUE(job), RD_KAFKA_V_END);
      if (err) why = rd_kafka_err2str(err);
      else value = NULL;
    }
    free(key);
    free(value);
    if (why) {
      /* Messages i.. were never enqueued: no report will come for them. */
      pthread_mutex_lock(&p->lock);
      job->pending -= (int)(n - i);
      if (job->failed++ == 0) snprintf(job->error, sizeof job->error, "produce to %s failed: %s", topic, why);
      pthread_mutex_unlock(&p->lock);
      break;
    }
  }
  free(topic);
  napi_value name;
  int ok = napi_create_reference(env, argv[0], 1, &job->handle_ref) == napi_ok;
  ok = ok && napi_create_string_utf8(env, "librdkafka-produce", NAPI_AUTO_LENGTH, &name) == napi_ok;
  ok = ok && napi_create_async_work(env, NULL, name, send_execute, send_complete, job, &job->work) == napi_ok;
  ok = ok && napi_queue_async_work(env, job->work) == napi_ok;
  if (!ok) {
    /* Cannot wait for the reports here: flush on this thread, then the job is ours to free. */
    rd_kafka_flush(p->rk, 60000);
    send_execute(env, job);
    if (job->handle_ref) napi_delete_reference(env, job->handle_ref);
    if (job->work) napi_delete_async_work(env, job->work);
    free(job);
    throw_error(env, "producerSend: could not queue the delivery wait");
    return NULL;
  }
  p->sending++;
  return promise;
}

static void close_execute(napi_env env, void *data) {
  (void)env;
  close_job_t *job = data;
  rd_kafka_resp_err_t err = rd_kafka_flush(job->p->rk, 30000);
  if (err) snprintf(job->error, sizeof job->error, "flush on close: %s", rd_kafka_err2str(err));
  rd_kafka_destroy(job->p->rk);
  job->p->rk = NULL;
}

static void close_complete(napi_env env, napi_status status, void *data) {
  close_job_t *job = data;
  napi_value result;
  if (status == napi_ok && !job->error[0]) {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message;
    napi_create_string_utf8(env, job->error[0] ? job->error : "close cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &result);
    napi_reject_deferred(env, job->deferred, result);
  }
  napi_delete_reference(env, job->handle_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

/* producerFatalError(handle) -> string | null: why this client can no longer produce. */
static napi_value js_producer_fatal_error(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  producer_t *p = handle_arg(env, argv[0]);
  if (!p) return NULL;
  char fatal[256];
  if (p->closed || !p->rk || !rd_kafka_fatal_error(p->rk, fatal, sizeof fatal)) {
    NAPI_CALL(env, napi_get_null(env, &result));
  } else {
    NAPI_CALL(env, napi_create_string_utf8(env, fatal, NAPI_AUTO_LENGTH, &result));
  }
  return result;
}

static napi_value js_producer_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  producer_t *p = handle_arg(env, argv[0]);
  if (!p) return NULL;
  if (p->sending > 0) {
    throw_error(env, "close while a send is in progress: await it first");
    return NULL;
  }
  close_job_t *job = calloc(1, sizeof *job);
  if (!job) {
    throw_error(env, "out of memory");
    return NULL;
  }
  job->p = p;
  napi_value promise, name;
  NAPI_CALL(env, napi_create_promise(env, &job->deferred, &promise));
  if (p->closed) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, job->deferred, undefined);
    free(job);
    return promise;
  }
  p->closed = 1;
  NAPI_CALL(env, napi_create_reference(env, argv[0], 1, &job->handle_ref));
  NAPI_CALL(env, napi_create_string_utf8(env, "librdkafka-producer-close", NAPI_AUTO_LENGTH, &name));
  NAPI_CALL(env, napi_create_async_work(env, NULL, name, close_execute, close_complete, job, &job->work));
  NAPI_CALL(env, napi_queue_async_work(env, job->work));
  return promise;
}

int register_producer(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"producerOpen", NULL, js_producer_open, NULL, NULL, NULL, napi_default, NULL},
      {"producerSend", NULL, js_producer_send, NULL, NULL, NULL, napi_default, NULL},
      {"producerClose", NULL, js_producer_close, NULL, NULL, NULL, napi_default, NULL},
      {"producerFatalError", NULL, js_producer_fatal_error, NULL, NULL, NULL, napi_default, NULL},
  };
  NAPI_CALL_OR(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props), return 0);
  return 1;
}
