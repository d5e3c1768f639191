/*
 * Deliberate memory errors, compiled only into the sanitized build (build.sh --sanitize).
 * sanitizer-canary.unit.spec.ts calls each in a child process started like the sanitized tests
 * and expects it to die with the sanitizer's report: a green sanitized run then shows that the
 * sanitizers were really there, not merely asked for.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <limits.h>
#include <stdlib.h>
#include "napi-call.h"

/* Volatile, so that the compiler cannot see (and refuse or drop) the errors below. */
static volatile size_t one = 1;
static volatile int int_max = INT_MAX;

/* sanitizerCanaryHeapOverflow(): writes one byte past a 16-byte heap block (ASan: heap-buffer-overflow).
 * UBSan's object-size check would stop it first; this canary is ASan's, so UBSan is off here. */
__attribute__((no_sanitize_undefined)) static napi_value heap_overflow(napi_env env, napi_callback_info info) {
  (void)info;
  char *block = malloc(16);
  if (!block) {
    js_throw_error(env, "sanitizerCanaryHeapOverflow: out of memory");
    return NULL;
  }
  ((volatile char *)block)[15 + one] = 1; /* volatile: a store before free is otherwise dropped */
  free(block);
  return NULL;
}

/* sanitizerCanarySignedOverflow(): INT_MAX + 1 (UBSan: signed integer overflow). */
static napi_value signed_overflow(napi_env env, napi_callback_info info) {
  (void)info;
  int sum = int_max + (int)one;
  napi_value result;
  NAPI_CALL(env, napi_create_int32(env, sum, &result));
  return result;
}

/* Adds the canaries to the addon's exports; 0 (thrown) when it cannot. */
int register_sanitizer_canary(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sanitizerCanaryHeapOverflow", NULL, heap_overflow, NULL, NULL, NULL, napi_default, NULL},
      {"sanitizerCanarySignedOverflow", NULL, signed_overflow, NULL, NULL, NULL, napi_default, NULL},
  };
  NAPI_CALL_OR(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props), return 0);
  return 1;
}
