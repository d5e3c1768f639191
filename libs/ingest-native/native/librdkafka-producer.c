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
 *   producerClose(handle) -> Promise<void>
 *     waits up to CLOSE_FLUSH_MS for the sends in progress, fails those still waiting then
 *     (their promises reject), and destroys the client.
 *   producerFatalError(handle) -> string | null  (set: this client can no longer produce)
 *
 * Delivery reports (docs/decisions/0017): each producer has one thread of its own that serves
 * librdkafka's reports (rd_kafka_poll) and hands each finished send to the main thread through a
 * napi_threadsafe_function. No libuv pool thread ever waits on the broker, so a slow or paused
 * broker cannot starve ingest's C scans, which run on that pool.
 *
 * Lifetime: the producer_t is owned by the JS handle and by the threadsafe function; the last of
 * the two to be finalized frees it. The delivery thread destroys the client and then releases the
 * threadsafe function; its finalizer (main thread) joins the thread. While a send or a close is
 * unsettled the handle is strongly referenced and the function keeps the event loop alive.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "napi-call.h"

/* Longest wait on close for the sends in progress (the default message.timeout.ms). */
#define CLOSE_FLUSH_MS 30000
/* After a purge, how long the purged messages' reports may take to arrive. */
#define PURGED_REPORTS_MS 5000
/* Upper bound on how late the delivery thread notices a close (a close also wakes it at once). */
#define POLL_MS 200

/* What the delivery thread does; only the main thread changes it, only away from RUNNING. */
enum delivery_state { RUNNING, CLOSING, ABANDONED };

/* The data of a threadsafe-function call: what the main thread settles. */
typedef enum { SETTLE_SEND, SETTLE_CLOSE } settlement_kind_t;

typedef struct send_job {
  settlement_kind_t kind; /* SETTLE_SEND; first, like close_settlement_t's */
  napi_deferred deferred;
  int pending; /* messages without a delivery report yet, plus those not yet enqueued; under lock */
  int failed;
  char error[256];
  struct send_job *prev, *next; /* unsettled sends, under lock */
} send_job_t;

typedef struct {
  settlement_kind_t kind; /* SETTLE_CLOSE */
  napi_deferred deferred;
  char error[256];
} close_settlement_t;

typedef struct {
  rd_kafka_t *rk;
  rd_kafka_queue_t *main_queue; /* woken on close; destroyed by the delivery thread, under lock */
  pthread_t delivery_thread;
  int delivery_thread_started;
  atomic_int state;
  napi_threadsafe_function settle;
  pthread_mutex_t lock;
  send_job_t *unsettled; /* under lock */
  /* Main thread only. */
  int closed; /* no more sends; rk now belongs to the delivery thread */
  int awaited; /* unsettled sends, and a close in progress */
  napi_ref self_ref;
  int owners; /* the handle and the threadsafe function */
  close_settlement_t close;
} producer_t;

static void link_job(producer_t *p, send_job_t *job) {
  job->next = p->unsettled;
  if (job->next) job->next->prev = job;
  p->unsettled = job;
}

static void unlink_job(producer_t *p, send_job_t *job) {
  if (job->prev) job->prev->next = job->next;
  else p->unsettled = job->next;
  if (job->next) job->next->prev = job->prev;
  job->prev = job->next = NULL;
}

static void free_producer(producer_t *p) {
  pthread_mutex_destroy(&p->lock);
  free(p);
}

/* Moves the delivery thread on (main thread), waking it from its poll. */
static void request_state(producer_t *p, enum delivery_state state) {
  pthread_mutex_lock(&p->lock);
  atomic_store(&p->state, state);
  if (p->main_queue) rd_kafka_queue_yield(p->main_queue);
  pthread_mutex_unlock(&p->lock);
}

/* A send or close started: keep the handle and the event loop alive until it settles. */
static void awaited_add(napi_env env, producer_t *p) {
  if (p->awaited++ > 0) return;
  NAPI_CALL_OR(env, napi_ref_threadsafe_function(env, p->settle), (void)0);
  if (p->self_ref) NAPI_CALL_OR(env, napi_reference_ref(env, p->self_ref, NULL), (void)0);
}

static void awaited_done(napi_env env, producer_t *p) {
  if (--p->awaited > 0) return;
  NAPI_CALL_OR(env, napi_unref_threadsafe_function(env, p->settle), (void)0);
  if (p->self_ref) NAPI_CALL_OR(env, napi_reference_unref(env, p->self_ref, NULL), (void)0);
}

/* Main thread: settles a send whose every message has its report (or never will). */
static void settle_send(napi_env env, producer_t *p, send_job_t *job) {
  if (job->failed) napi_reject_with_message(env, job->deferred, job->error);
  else napi_resolve_undefined(env, job->deferred);
  free(job);
  awaited_done(env, p);
}

/* The threadsafe function's call_js, on the main thread; env is NULL when Node is tearing it down. */
static void settle_on_main_thread(napi_env env, napi_value js_callback, void *context, void *data) {
  (void)js_callback;
  producer_t *p = context;
  if (*(settlement_kind_t *)data == SETTLE_CLOSE) {
    if (!env) return;
    if (p->close.error[0]) napi_reject_with_message(env, p->close.deferred, p->close.error);
    else napi_resolve_undefined(env, p->close.deferred);
    awaited_done(env, p);
  } else if (env) {
    settle_send(env, p, data);
  } else {
    free(data);
  }
}

/* Delivery thread: queues a send's settlement for the main thread (dropped when Node is shutting down). */
static void settle_send_later(producer_t *p, send_job_t *job) {
  if (napi_call_threadsafe_function(p->settle, job, napi_tsfn_blocking) != napi_ok) free(job);
}

/* librdkafka's delivery report callback: runs on the delivery thread, inside rd_kafka_poll/flush. */
static void on_delivery_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  producer_t *p = opaque;
  send_job_t *job = m->_private;
  pthread_mutex_lock(&p->lock);
  if (m->err && job->failed++ == 0)
    snprintf(job->error, sizeof job->error, "delivery to %s failed: %s", rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
  int finished = --job->pending == 0;
  if (finished) unlink_job(p, job);
  pthread_mutex_unlock(&p->lock);
  if (finished) settle_send_later(p, job);
}

/* The delivery thread: serves reports until closed or abandoned, then destroys the client. */
static void *deliver_reports(void *arg) {
  producer_t *p = arg;
  while (atomic_load(&p->state) == RUNNING) rd_kafka_poll(p->rk, POLL_MS);
  int closing = atomic_load(&p->state) == CLOSING;
  rd_kafka_resp_err_t flushed = RD_KAFKA_RESP_ERR_NO_ERROR;
  /* In slices, so that Node's teardown (ABANDONED) does not wait for a slow broker. */
  for (int waited = 0; closing && waited < CLOSE_FLUSH_MS && atomic_load(&p->state) == CLOSING; waited += POLL_MS)
    if ((flushed = rd_kafka_flush(p->rk, POLL_MS)) == RD_KAFKA_RESP_ERR_NO_ERROR) break;
  /* What could not be delivered fails now: its sends reject rather than never settle. */
  rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(p->rk, PURGED_REPORTS_MS);
  pthread_mutex_lock(&p->lock);
  rd_kafka_queue_destroy(p->main_queue);
  p->main_queue = NULL;
  pthread_mutex_unlock(&p->lock);
  rd_kafka_destroy(p->rk);
  p->rk = NULL;
  /* librdkafka reports every message it accepted; should one not have been, its send still settles. */
  pthread_mutex_lock(&p->lock);
  send_job_t *left = p->unsettled;
  p->unsettled = NULL;
  pthread_mutex_unlock(&p->lock);
  while (left) {
    send_job_t *job = left;
    left = job->next;
    if (job->failed++ == 0) snprintf(job->error, sizeof job->error, "producer closed before every delivery report came");
    settle_send_later(p, job);
  }
  if (closing) {
    if (flushed) snprintf(p->close.error, sizeof p->close.error, "flush on close: %s", rd_kafka_err2str(flushed));
    if (napi_call_threadsafe_function(p->settle, &p->close, napi_tsfn_blocking) != napi_ok) {
      /* Node is shutting down: nothing is left to settle the close for. */
    }
  }
  if (napi_release_threadsafe_function(p->settle, napi_tsfn_release) != napi_ok) {
    /* Node is tearing the function down (napi_closing): its finalizer is joining this thread. */
  }
  return NULL;
}

/*
 * The threadsafe function's finalizer (main thread): after the delivery thread released it, or
 * when Node tears the environment down, in which case the thread is told to stop first. Joining
 * here means the thread is done with the function before Node deletes it.
 */
static void settle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  producer_t *p = data;
  p->closed = 1;
  if (atomic_load(&p->state) != ABANDONED) request_state(p, ABANDONED);
  if (p->delivery_thread_started) pthread_join(p->delivery_thread, NULL);
  if (--p->owners == 0) free_producer(p);
}

/* The handle's finalizer: a producer never closed is abandoned (its client purged and destroyed). */
static void release_handle(napi_env env, void *data, void *hint) {
  (void)hint;
  producer_t *p = data;
  if (p->self_ref && napi_delete_reference(env, p->self_ref) != napi_ok) {
    /* Only at teardown, which frees every reference anyway; a finalizer must not throw. */
  }
  p->self_ref = NULL;
  if (!p->closed) {
    p->closed = 1;
    request_state(p, ABANDONED);
  }
  if (--p->owners == 0) free_producer(p);
}

static producer_t *handle_arg(napi_env env, napi_value v) {
  producer_t *p = NULL;
  if (napi_unwrap(env, v, (void **)&p) != napi_ok || !p) {
    js_throw_type_error(env, "not a producer handle");
    return NULL;
  }
  return p;
}

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

/* The librdkafka configuration from (key, value, ...); NULL (thrown) when one is refused. */
static rd_kafka_conf_t *config_arg(napi_env env, napi_value pairs, uint32_t n) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char errstr[512] = "";
  for (uint32_t i = 0; i < n; i += 2) {
    napi_value k, v;
    size_t kl, vl;
    char *ks = NULL, *vs = NULL;
    if (napi_get_element(env, pairs, i, &k) == napi_ok && napi_get_element(env, pairs, i + 1, &v) == napi_ok) {
      ks = utf8(env, k, &kl);
      vs = utf8(env, v, &vl);
    }
    rd_kafka_conf_res_t r = ks && vs ? rd_kafka_conf_set(conf, ks, vs, errstr, sizeof errstr) : RD_KAFKA_CONF_INVALID;
    free(ks);
    free(vs);
    if (r != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      js_throw_error(env, r == RD_KAFKA_CONF_INVALID && !errstr[0] ? "producer config: not a string" : errstr);
      return NULL;
    }
  }
  return conf;
}

static napi_value js_producer_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t n = 0;
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[0], &n) != napi_ok || n % 2) {
    js_throw_type_error(env, "producerOpen(config: string[] of key, value pairs)");
    return NULL;
  }
  rd_kafka_conf_t *conf = config_arg(env, argv[0], n);
  if (!conf) return NULL;
  producer_t *p = calloc(1, sizeof *p);
  if (!p) {
    rd_kafka_conf_destroy(conf);
    js_throw_error(env, "producerOpen: out of memory");
    return NULL;
  }
  pthread_mutex_init(&p->lock, NULL);
  atomic_init(&p->state, RUNNING);
  p->close.kind = SETTLE_CLOSE;
  rd_kafka_conf_set_opaque(conf, p);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery_report);
  char errstr[512] = "";
  p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!p->rk) {
    rd_kafka_conf_destroy(conf); /* rd_kafka_new takes it only when it succeeds */
    free_producer(p);
    js_throw_error(env, errstr);
    return NULL;
  }
  p->main_queue = rd_kafka_queue_get_main(p->rk);
  napi_value name, handle;
  NAPI_CALL_OR(env, napi_create_string_utf8(env, "librdkafka-delivery-reports", NAPI_AUTO_LENGTH, &name), goto destroy_client);
  NAPI_CALL_OR(env, napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, p, settle_finalize, p, settle_on_main_thread, &p->settle), goto destroy_client);
  p->owners = 1; /* from here the function's finalizer frees p */
  NAPI_CALL_OR(env, napi_unref_threadsafe_function(env, p->settle), goto stop);
  if (pthread_create(&p->delivery_thread, NULL, deliver_reports, p) != 0) {
    js_throw_error(env, "producerOpen: could not start the delivery-report thread");
    goto stop;
  }
  p->delivery_thread_started = 1;
  NAPI_CALL_OR(env, napi_create_object(env, &handle), goto stop);
  NAPI_CALL_OR(env, napi_wrap(env, handle, p, release_handle, NULL, NULL), goto stop);
  p->owners = 2;
  /* Weak until a send or close is in progress (awaited_add). */
  NAPI_CALL(env, napi_create_reference(env, handle, 0, &p->self_ref));
  return handle;

stop: /* the threadsafe function exists: the delivery thread (or this thread) destroys the client and releases it */
  p->closed = 1;
  if (p->delivery_thread_started) {
    request_state(p, ABANDONED);
  } else {
    rd_kafka_queue_destroy(p->main_queue);
    p->main_queue = NULL;
    rd_kafka_destroy(p->rk);
    p->rk = NULL;
    NAPI_CALL_OR(env, napi_release_threadsafe_function(p->settle, napi_tsfn_release), (void)0);
  }
  return NULL;
destroy_client:
  rd_kafka_queue_destroy(p->main_queue);
  rd_kafka_destroy(p->rk);
  free_producer(p);
  return NULL;
}

static napi_value js_producer_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    js_throw_type_error(env, "producerSend(handle, topic, keys: string[], values: string[])");
    return NULL;
  }
  producer_t *p = handle_arg(env, argv[0]);
  if (!p) return NULL;
  if (p->closed) {
    js_throw_error(env, "producer is closed");
    return NULL;
  }
  char fatal[256];
  if (rd_kafka_fatal_error(p->rk, fatal, sizeof fatal)) {
    /* Nothing more can be produced on this client (e.g. an idempotence failure): the wrapper opens a new one. */
    char message[300];
    snprintf(message, sizeof message, "fatal producer error: %s", fatal);
    js_throw_error(env, message);
    return NULL;
  }
  uint32_t n = 0, n_values = 0;
  size_t topic_len;
  char *topic = utf8(env, argv[1], &topic_len);
  if (!topic || napi_get_array_length(env, argv[2], &n) != napi_ok || napi_get_array_length(env, argv[3], &n_values) != napi_ok || n != n_values) {
    free(topic);
    js_throw_type_error(env, "producerSend: topic is a string, keys and values are string arrays of one length");
    return NULL;
  }
  send_job_t *job = calloc(1, sizeof *job);
  if (!job) {
    free(topic);
    js_throw_error(env, "producerSend: out of memory");
    return NULL;
  }
  job->kind = SETTLE_SEND;
  napi_value promise;
  NAPI_CALL_OR(env, napi_create_promise(env, &job->deferred, &promise), free(topic); free(job); return NULL);
  awaited_add(env, p);
  /* Counting every message first, a report cannot finish the send before all are enqueued. */
  pthread_mutex_lock(&p->lock);
  job->pending = (int)n;
  link_job(p, job);
  pthread_mutex_unlock(&p->lock);
  uint32_t enqueued = 0;
  for (; enqueued < n; enqueued++) {
    napi_value k, v;
    size_t kl = 0, vl = 0;
    char *key = NULL, *value = NULL;
    const char *why = NULL;
    if (napi_get_element(env, argv[2], enqueued, &k) != napi_ok || napi_get_element(env, argv[3], enqueued, &v) != napi_ok || !(key = utf8(env, k, &kl)) ||
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
      pthread_mutex_lock(&p->lock);
      if (job->failed++ == 0) snprintf(job->error, sizeof job->error, "produce to %s failed: %s", topic, why);
      pthread_mutex_unlock(&p->lock);
      break;
    }
  }
  free(topic);
  /* Messages never enqueued get no report; if every other one has its report already, settle here. */
  pthread_mutex_lock(&p->lock);
  job->pending -= (int)(n - enqueued);
  int finished = job->pending == 0;
  if (finished) unlink_job(p, job);
  pthread_mutex_unlock(&p->lock);
  if (finished) settle_send(env, p, job);
  return promise;
}

/* producerFatalError(handle) -> string | null: why this client can no longer produce. */
static napi_value js_producer_fatal_error(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  producer_t *p = handle_arg(env, argv[0]);
  if (!p) return NULL;
  char fatal[256];
  if (p->closed || !rd_kafka_fatal_error(p->rk, fatal, sizeof fatal)) {
    NAPI_CALL(env, napi_get_null(env, &result));
  } else {
    NAPI_CALL(env, napi_create_string_utf8(env, fatal, NAPI_AUTO_LENGTH, &result));
  }
  return result;
}

static napi_value js_producer_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], promise;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  producer_t *p = handle_arg(env, argv[0]);
  if (!p) return NULL;
  if (p->closed) {
    napi_deferred done;
    NAPI_CALL(env, napi_create_promise(env, &done, &promise));
    napi_resolve_undefined(env, done);
    return promise;
  }
  NAPI_CALL(env, napi_create_promise(env, &p->close.deferred, &promise));
  p->closed = 1;
  awaited_add(env, p);
  request_state(p, CLOSING);
  return promise;
}

/* Adds the producer's functions to the addon's exports; 0 (thrown) when it cannot. */
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
