/*
 * Every N-API call of this package goes through NAPI_CALL or NAPI_CALL_OR: a status other than
 * napi_ok throws a JS error naming the call, its file and line and N-API's own reason (unless the
 * call failed because a JS exception is already pending: that one is kept), and the caller leaves.
 * A check is one compare and branch, so the hot path pays nothing measurable for it.
 */
#ifndef NAPI_CALL_H
#define NAPI_CALL_H

#include <node_api.h>
#include <stdio.h>

/* Throws the error NAPI_CALL describes; the last error info is read before any other call resets it. */
static inline void napi_call_throw(napi_env env, napi_status status, const char *call, const char *file, int line) {
  const napi_extended_error_info *info = NULL;
  const char *reason = napi_get_last_error_info(env, &info) == napi_ok && info && info->error_message ? info->error_message : "unknown reason";
  bool pending = false;
  if (status == napi_pending_exception || (napi_is_exception_pending(env, &pending) == napi_ok && pending)) return;
  char message[512];
  snprintf(message, sizeof message, "%s failed at %s:%d: %s (napi_status %d)", call, file, line, reason, (int)status);
  napi_throw_error(env, "ERR_NAPI_CALL", message);
}

/* Runs `call`; when it fails, throws (see above) and runs `on_failure` (return NULL, goto, ...). */
#define NAPI_CALL_OR(env, call, on_failure)                                      \
  do {                                                                           \
    napi_status napi_call_status_ = (call);                                      \
    if (napi_call_status_ != napi_ok) {                                          \
      napi_call_throw((env), napi_call_status_, #call, __FILE__, __LINE__);      \
      on_failure;                                                                \
    }                                                                            \
  } while (0)

/* In a function that returns napi_value: a failed call throws and returns NULL. */
#define NAPI_CALL(env, call) NAPI_CALL_OR(env, call, return NULL)

/* The throws this package makes, checked like every other call (a failed throw throws NAPI_CALL's error). */
static inline void js_throw_error(napi_env env, const char *message) { NAPI_CALL_OR(env, napi_throw_error(env, NULL, message), (void)0); }
static inline void js_throw_coded_error(napi_env env, const char *code, const char *message) { NAPI_CALL_OR(env, napi_throw_error(env, code, message), (void)0); }
static inline void js_throw_type_error(napi_env env, const char *message) { NAPI_CALL_OR(env, napi_throw_type_error(env, NULL, message), (void)0); }
static inline void js_throw_range_error(napi_env env, const char *message) { NAPI_CALL_OR(env, napi_throw_range_error(env, NULL, message), (void)0); }

/*
 * Settles `deferred` with the JS exception pending on `env` (thrown by a failed NAPI_CALL), so a
 * promise whose result could not be built rejects with the reason instead of staying pending.
 * Where even that fails, the exception stays pending: Node reports it as uncaught.
 */
static inline void napi_reject_with_pending_exception(napi_env env, napi_deferred deferred) {
  napi_value exception;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) {
    napi_value message;
    if (napi_create_string_utf8(env, "native call failed without an exception", NAPI_AUTO_LENGTH, &message) != napi_ok ||
        napi_create_error(env, NULL, message, &exception) != napi_ok)
      return;
  } else if (napi_get_and_clear_last_exception(env, &exception) != napi_ok) {
    return;
  }
  if (napi_reject_deferred(env, deferred, exception) != napi_ok) napi_throw(env, exception);
}

/* Rejects `deferred` with an Error of `message`; if that fails, rejects with (or leaves pending) the failure. */
static inline void napi_reject_with_message(napi_env env, napi_deferred deferred, const char *message) {
  napi_value text, error;
  NAPI_CALL_OR(env, napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text), goto unsettled);
  NAPI_CALL_OR(env, napi_create_error(env, NULL, text, &error), goto unsettled);
  NAPI_CALL_OR(env, napi_reject_deferred(env, deferred, error), (void)0); /* consumed even when it fails */
  return;
unsettled:
  napi_reject_with_pending_exception(env, deferred);
}

/* Resolves `deferred` with undefined (see napi_reject_with_message for failures). */
static inline void napi_resolve_undefined(napi_env env, napi_deferred deferred) {
  napi_value undefined;
  NAPI_CALL_OR(env, napi_get_undefined(env, &undefined), goto unsettled);
  NAPI_CALL_OR(env, napi_resolve_deferred(env, deferred, undefined), (void)0);
  return;
unsettled:
  napi_reject_with_pending_exception(env, deferred);
}

#endif
