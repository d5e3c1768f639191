/*
 * The layout of what the scanner and the aggregator exchange with JavaScript. The TypeScript
 * source of truth is PACKED_SCAN_LAYOUT (libs/telemetry/src/packed-telemetry-scanner.ts): the
 * addon exports these values as `layout` and its loader refuses it when one differs.
 */
#ifndef TELEMETRY_LAYOUT_H
#define TELEMETRY_LAYOUT_H

#define MAX_RECORDS_PER_MESSAGE 10000 /* contracts' MAX_RECORDS_PER_MESSAGE */
#define VALUES_PER_RECORD 6           /* timestamp, lat, lon, status, latencyMs, bytes */
#define DOMAIN_FIELDS_PER_RECORD 3    /* start, length, first record with the same bytes */
#define KIND_RECORD 1                 /* kinds[i]: one record (0: not answered) */
#define KIND_BATCH 2                  /* kinds[i]: a {"records": [...]} batch */
#define GROUP_FIELDS 15
#define AGGREGATION_PARAMS 11
#define REJECTION_FIELDS 3 /* record, code, watermark */
#define REJECTED_TOO_FAR_IN_FUTURE 1
#define REJECTED_LATE 2

#endif
