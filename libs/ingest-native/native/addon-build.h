/*
 * Which build an addon is, exported as `build` for the loader to check: "asan" from
 * `build.sh --sanitize` (AddressSanitizer and UndefinedBehaviorSanitizer), else "release".
 */
#ifndef ADDON_BUILD_H
#define ADDON_BUILD_H

#ifdef SHARDCAST_SANITIZED_BUILD
#define ADDON_BUILD "asan"
#else
#define ADDON_BUILD "release"
#endif

#endif
