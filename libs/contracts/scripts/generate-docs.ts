/**
 * Generates docs/contracts/ from the zod schemas: one JSON Schema per public payload and a README
 * with the topic table, the error codes and kcat examples. `generated-docs.unit.spec.ts` regenerates
 * in memory and fails when the committed files differ, so the docs cannot drift from the code.
 *
 *   npx tsx libs/contracts/scripts/generate-docs.ts
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
// Relative imports (not @shardcast/contracts) so the compiled script runs without path aliases.
import { CapacityPlanEventSchema } from '../src/capacity-plan';
import { DemandForecastEventSchema } from '../src/demand-forecast';
import { DemandObservedEventSchema } from '../src/demand-observed';
import { DemandObservedBatchEventSchema, MAX_OBSERVED_BATCH_BUCKET_BYTES, MAX_OBSERVED_BATCH_BUCKETS } from '../src/demand-observed-v2';
import { DOMAIN_REGISTERED, DomainRegisteredEvent, DomainRegisteredEventSchema, MAX_REGISTERED_DOMAIN_LENGTH } from '../src/domain-registered';
import { MAX_REGION_SLUG_LENGTH, TierPolicy } from '../src/domain-policy';
import { EventEnvelope } from '../src/envelope';
import { DeadLetterHeaders, ErrorCode, ErrorCodes } from '../src/error-codes';
import { ShardAssignedEventSchema } from '../src/shard-assigned';
import { ShardHealthEventSchema } from '../src/shard-health';
import { MAX_RECORDS_PER_MESSAGE, TelemetryMessageSchema, TelemetryRecordSchema } from '../src/telemetry-request';
import { contractTopicSpecs, DEAD_LETTER_MAX_MESSAGE_BYTES, deadLetterTopic, TopicName, Topics } from '../src/topics';

type JsonSchema = Record<string, unknown>;

/** One generated file: its name inside docs/contracts/ and its full text. */
export interface ContractDoc {
  file: string;
  content: string;
}

const SCHEMA_DRAFT = 'https://json-schema.org/draft/2020-12/schema';

/** 10000 → "10,000" without depending on the ICU data of the Node build. */
const thousands = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

interface TopicDoc {
  topic: TopicName;
  schemaFile: string;
  /** What the Kafka message key is. */
  key: string;
  producedBy: string;
  consumedBy: string;
  /** Public topics are the ones outside systems produce to or consume from. */
  audience: 'public' | 'internal';
  summary: string;
}

/** Who writes and reads each topic (the diagram in the README), in pipeline order. */
const TOPIC_DOCS: Record<TopicName, TopicDoc> = {
  [Topics.telemetryRequests]: {
    topic: Topics.telemetryRequests,
    schemaFile: 'telemetry-message.schema.json',
    key: 'domain (recommended; any key is accepted and a batch may mix domains)',
    producedBy: 'edges, CDN log shippers (you)',
    consumedBy: 'ingest',
    audience: 'public',
    summary: 'Served requests: one record or a batch of records per message.',
  },
  [Topics.domainRegistered]: {
    topic: Topics.domainRegistered,
    schemaFile: 'domain-registered-event.schema.json',
    key: 'domain',
    producedBy: "registrars, control planes (you); forecaster (its API's registrations)",
    consumedBy: 'forecaster',
    audience: 'public',
    summary: 'The latest registration of a domain: application type, tier, user base, markets (compacted; a tombstone deregisters).',
  },
  [Topics.demandObserved]: {
    topic: Topics.demandObserved,
    schemaFile: 'demand-observed-event.schema.json',
    key: 'domain',
    producedBy: 'ingest (when `INGEST_DEMAND_OBSERVED_TOPICS` includes `v1`: off by default since 2026-12-03, the topic kept)',
    consumedBy: 'forecaster, allocator, outside systems',
    audience: 'public',
    summary: 'Demand per (domain, region, minute); a later revision replaces an earlier one and holds all of it. Every revision is sent at least once, except one already replaced by the time a poll sends its outbox row (its writer crashed or could not send).',
  },
  [Topics.demandObservedV2]: {
    topic: Topics.demandObservedV2,
    schemaFile: 'demand-observed-v2-event.schema.json',
    key: 'source partition, `<telemetry topic>:<partition>`',
    producedBy: 'ingest (by default; `INGEST_DEMAND_OBSERVED_TOPICS`)',
    consumedBy: 'forecaster, allocator, outside systems',
    audience: 'public',
    summary: `The same bucket revisions as \`${Topics.demandObserved}\`, many per event: one event per ingest commit of a source partition, holding the revisions it closed, cut into chunks of at most ${MAX_OBSERVED_BATCH_BUCKETS} buckets (and ${thousands(MAX_OBSERVED_BATCH_BUCKET_BYTES)} bytes of them). A redelivery or a resend from the outbox repeats the event id; a revision already replaced when the outbox resends is left out, as in v1.`,
  },
  [Topics.demandForecast]: {
    topic: Topics.demandForecast,
    schemaFile: 'demand-forecast-event.schema.json',
    key: 'domain',
    producedBy: 'forecaster',
    consumedBy: 'allocator',
    audience: 'internal',
    summary: 'Forecast demand per (domain, region) as integer quantile arrays with the per-request cost to derive resources from (`forecastResources`); a `deregistered` event when a domain leaves.',
  },
  [Topics.capacityPlan]: {
    topic: Topics.capacityPlan,
    schemaFile: 'capacity-plan-event.schema.json',
    key: 'domain',
    producedBy: 'allocator',
    consumedBy: 'shard-assigner',
    audience: 'internal',
    summary: 'Capacity reserved for a domain per region for a time window.',
  },
  [Topics.shardAssigned]: {
    topic: Topics.shardAssigned,
    schemaFile: 'shard-assigned-event.schema.json',
    key: 'domain',
    producedBy: 'shard-assigner',
    consumedBy: 'dns-publisher, monitor, outside systems',
    audience: 'public',
    summary: 'The latest shard layout of a domain (compacted: latest state per domain); keys map to its active shards as [hashing.md](hashing.md) specifies.',
  },
  [Topics.shardHealth]: {
    topic: Topics.shardHealth,
    schemaFile: 'shard-health-event.schema.json',
    key: 'domain',
    producedBy: 'monitor',
    consumedBy: 'allocator',
    audience: 'internal',
    summary: 'Health of one regional shard over a window.',
  },
};

/** One line per error code. A Record over ErrorCode: a new code does not compile until documented here. */
const ERROR_CODE_DOCS: Record<ErrorCode, string> = {
  TELEMETRY_MALFORMED_JSON: 'The message value is empty, a tombstone, or not JSON.',
  TELEMETRY_INVALID_RECORD: 'The record (or the batch wrapper) does not match telemetry-record.schema.json: a missing or unknown field, a bad status, latency or byte count, a bad timestamp.',
  TELEMETRY_INVALID_DOMAIN: 'The domain is not a valid host name after IDNA normalisation (labels, length, characters, IP literals).',
  TELEMETRY_INVALID_LOCATION: 'The client location is neither `{lat, lon}` within range nor `{pop}`.',
  TELEMETRY_UNKNOWN_POP: 'The client names an edge POP that is not in the ingest `POPS` configuration.',
  TELEMETRY_LATE: "The record's minute bucket had already closed: it is older than the partition's newest event time minus the allowed lateness (`INGEST_ALLOWED_LATENESS_MS`).",
  TELEMETRY_TOO_FAR_IN_FUTURE: 'The timestamp is later than the wall clock plus the allowed skew (`INGEST_MAX_FUTURE_SKEW_MS`): a broken clock.',
  TELEMETRY_EMPTY_BATCH: `\`records\` is an empty array.`,
  TELEMETRY_BATCH_TOO_LARGE: `\`records\` holds more than ${thousands(MAX_RECORDS_PER_MESSAGE)} records.`,
  EVENT_INVALID: 'An event on an internal topic does not match its envelope or payload schema.',
  EVENT_UNPROCESSABLE: "A valid event, or a telemetry message, failed every time it was processed (the database refused its values, or a handler failed on it): dead-lettered whole (its original bytes) after bounded retries, with the failure as the reason.",
  CONFIG_INVALID: 'A service could not start: an environment variable has a bad value (the message names it).',
  REQUEST_INVALID: 'An HTTP request body or query does not match its schema (HTTP 400).',
  UNAUTHORIZED: 'An HTTP request lacks valid credentials (HTTP 401).',
  NOT_FOUND: 'An HTTP request names a resource or route that does not exist (HTTP 404).',
  METHOD_NOT_ALLOWED: 'The route exists but not for this HTTP method; the `Allow` header lists the methods it takes (HTTP 405).',
  REQUEST_TOO_LARGE: 'An HTTP request body is larger than the service accepts (HTTP 413).',
  UNSUPPORTED_MEDIA_TYPE: 'An HTTP request body is in an encoding or charset the service does not read (HTTP 415).',
  NOT_READY: 'A dependency of the service (database, broker) does not answer: `/readyz` says which (HTTP 503).',
  INTERNAL_ERROR: 'The service failed on a request it should have handled; the log has the details, the answer never does (HTTP 500).',
  POOL_CAPACITY_EXCEEDED: "A region pool's capacity would drop below what is committed in it: the allocator's `PUT /v1/pools/:region` refuses it (HTTP 409).",
  POOL_IN_USE: "A region pool still holds reservations: the allocator's `DELETE /v1/pools/:region` refuses it until they are released (HTTP 409).",
  NO_ACTIVE_SHARD: "The shard-assigner's route endpoint: the domain has shards, but none is active yet (every one is warming), so no key maps anywhere (HTTP 409).",
};

/** Type and meaning of each envelope field; keyed by EventEnvelope, so a new field must be documented. */
const ENVELOPE_FIELD_DOCS: Record<keyof EventEnvelope<string, unknown>, [string, string]> = {
  eventId: ['string (1–128)', 'Unique id of the event; a redelivery carries the same id.'],
  type: ['string', 'The payload type, e.g. `shard.assigned` (the topic name without its version, `.v1`).'],
  occurredAt: ['ISO-8601 with zone', 'When the event happened.'],
  producedBy: ['string (1–64)', 'The producing service.'],
  correlationId: ['string (1–128)', 'Follows one demand change end to end.'],
  causationId: ['string or null', '`eventId` of the event that caused this one.'],
  payload: ['object', "The topic's payload (see the schema file)."],
};

/** What each dead-letter header carries, keyed like DeadLetterHeaders. */
const DEAD_LETTER_HEADER_DOCS: Record<keyof typeof DeadLetterHeaders, string> = {
  errorCode: 'the error code (table below)',
  errorReason: 'what is wrong, in a sentence (at most 1,000 characters)',
  sourceTopic: 'the topic the message was read from',
  sourcePartition: 'its partition',
  sourceOffset: 'its offset',
  recordIndex: 'which record of a batch message this dead letter holds (its value is that record alone); absent when the whole message failed (its value is the original bytes)',
  deadLetterId: 'one id per (consumer group, source topic, partition, offset, record index): a redelivery after a crash repeats it, so deduplicate on it',
  consumerGroup: 'the consumer group that rejected it (two services may dead-letter the same event)',
  failedAt: 'when it was rejected (ISO-8601, UTC)',
};

function jsonSchemaOf(schema: z.ZodType, meta: { title: string; description: string }): JsonSchema {
  // io 'input': what a producer may send and a consumer accepts. Transforms (domain normalisation,
  // ISO → epoch ms) are described by their input, and objects do not forbid added fields, so an
  // additive change stays compatible with validators built from these files.
  const { $schema: _draft, ...body } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  return { $schema: SCHEMA_DRAFT, title: meta.title, description: meta.description, ...body };
}

/** The batch branch types its members `unknown` (each is validated on its own); document them as records. */
function telemetryMessageJsonSchema(record: JsonSchema): JsonSchema {
  const message = jsonSchemaOf(TelemetryMessageSchema, {
    title: 'Telemetry message',
    description: `A ${Topics.telemetryRequests} message value: one telemetry record, or {"records": [...]} with 1 to ${MAX_RECORDS_PER_MESSAGE} records. An invalid member of a batch is dead-lettered alone; the valid ones count.`,
  });
  const anyOf = message.anyOf as JsonSchema[];
  const batch = anyOf[1] as { properties: { records: { items: unknown } } };
  if (anyOf.length !== 2 || JSON.stringify(batch.properties.records.items) !== '{}') {
    throw new Error('TelemetryMessageSchema changed shape: update telemetryMessageJsonSchema');
  }
  const { $schema: _d, title: _t, description: _desc, ...recordBody } = record;
  const ref = { $ref: '#/$defs/TelemetryRecord' };
  return {
    ...message,
    $defs: { TelemetryRecord: recordBody },
    anyOf: [ref, { ...batch, properties: { ...batch.properties, records: { ...batch.properties.records, items: ref } } }],
  };
}

function schemaDocs(): ContractDoc[] {
  const record = jsonSchemaOf(TelemetryRecordSchema, {
    title: 'Telemetry record',
    description:
      'One served request, reported by an edge. The client location is coordinates or an edge POP id; client IP addresses are never sent. timestamp is epoch milliseconds or ISO-8601 with a zone; domain is normalised to lowercase A-labels.',
  });
  const events: Array<[string, z.ZodType, string, string]> = [
    ['domain-registered-event.schema.json', DomainRegisteredEventSchema, `${Topics.domainRegistered} event`, TOPIC_DOCS[Topics.domainRegistered].summary],
    ['demand-observed-event.schema.json', DemandObservedEventSchema, `${Topics.demandObserved} event`, TOPIC_DOCS[Topics.demandObserved].summary],
    ['demand-observed-v2-event.schema.json', DemandObservedBatchEventSchema, `${Topics.demandObservedV2} event`, TOPIC_DOCS[Topics.demandObservedV2].summary],
    ['demand-forecast-event.schema.json', DemandForecastEventSchema, `${Topics.demandForecast} event`, TOPIC_DOCS[Topics.demandForecast].summary],
    ['capacity-plan-event.schema.json', CapacityPlanEventSchema, `${Topics.capacityPlan} event`, TOPIC_DOCS[Topics.capacityPlan].summary],
    ['shard-assigned-event.schema.json', ShardAssignedEventSchema, `${Topics.shardAssigned} event`, TOPIC_DOCS[Topics.shardAssigned].summary],
    ['shard-health-event.schema.json', ShardHealthEventSchema, `${Topics.shardHealth} event`, TOPIC_DOCS[Topics.shardHealth].summary],
  ];
  const docs: ContractDoc[] = [
    { file: 'telemetry-record.schema.json', content: json(record) },
    { file: 'telemetry-message.schema.json', content: json(telemetryMessageJsonSchema(record)) },
  ];
  for (const [file, schema, title, summary] of events) {
    docs.push({ file, content: json(jsonSchemaOf(schema, { title, description: `${summary} Wrapped in the shardcast event envelope.` })) });
  }
  return docs;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

function readme(schemaFiles: string[]): string {
  const specs = new Map(contractTopicSpecs().map((s) => [s.name, s]));
  const days = (ms: number | undefined) => (ms === undefined ? 'broker default' : `${ms / 86_400_000} days`);
  const topicRows = Object.values(Topics).map((topic) => {
    const doc = TOPIC_DOCS[topic];
    const spec = specs.get(topic)!;
    const dlq = specs.get(deadLetterTopic(topic))!;
    return `| \`${topic}\` | ${doc.audience} | ${doc.summary} | ${doc.key} | ${spec.compacted ? 'compacted (latest per domain)' : `delete (${days(spec.retentionMs)})`} | ${doc.producedBy} | ${doc.consumedBy} | [${doc.schemaFile}](${doc.schemaFile}) | \`${dlq.name}\` (${days(dlq.retentionMs)}) |`;
  });
  const headerRows = (Object.keys(DeadLetterHeaders) as Array<keyof typeof DeadLetterHeaders>).map((k) => `| \`${DeadLetterHeaders[k]}\` | ${DEAD_LETTER_HEADER_DOCS[k]} |`);
  const codeRows = (Object.values(ErrorCodes) as ErrorCode[]).map((code) => `| \`${code}\` | ${ERROR_CODE_DOCS[code]} |`);
  // The examples run in this order against a fresh ingest (apps/ingest/test/documented-examples.int.spec.ts
  // runs them and checks the outcomes stated beside them): keep their timestamps and outcomes in step.
  const examplePops = { fra1: { lat: 50.11, lon: 8.68 } };
  const exampleRecord = { domain: 'app.example.com', timestamp: '2026-11-25T13:00:00.123+01:00', client: { lat: 50.11, lon: 8.68 }, status: 200, latencyMs: 42.5, bytes: 18_230 };
  // A minute after the single record: on time even if the partition went idle in between (an idle
  // close moves the watermark to the end of the newest closed minute).
  const exampleBatch = {
    records: [
      { domain: 'app.example.com', timestamp: Date.parse('2026-11-25T12:01:15.123Z'), client: { pop: 'fra1' }, status: 200, latencyMs: 12, bytes: 5_120 },
      { domain: 'bücher.example', timestamp: Date.parse('2026-11-25T12:01:30.456Z'), client: { lat: -23.55, lon: -46.63 }, status: 503, latencyMs: 870, bytes: 312 },
    ],
  };
  const exampleRejected = { domain: 'app.example.com', timestamp: '2026-11-25T12:01:45', client: { lat: 50.11, lon: 8.68 }, status: 200, latencyMs: 9, bytes: 640 };
  const exampleRegistration: DomainRegisteredEvent = {
    eventId: 'reg-app.example.com-1',
    type: DOMAIN_REGISTERED,
    occurredAt: '2026-11-25T11:00:00.000Z',
    producedBy: 'registrar',
    correlationId: 'reg-app.example.com-1',
    causationId: null,
    payload: {
      domain: 'app.example.com',
      appType: 'webapp',
      tier: 'pro',
      userBase: { peakRequestsPerSecond: 400 },
      markets: [
        { country: 'DE', share: 0.6 },
        { country: 'BR', share: 0.4 },
      ],
      registeredAt: '2026-11-25T11:00:00.000Z',
    },
  };
  const envelopeRows = (Object.keys(ENVELOPE_FIELD_DOCS) as Array<keyof typeof ENVELOPE_FIELD_DOCS>).map((k) => `| \`${k}\` | ${ENVELOPE_FIELD_DOCS[k][0]} | ${ENVELOPE_FIELD_DOCS[k][1]} |`);
  const dlqHeaders = (Object.values(DeadLetterHeaders) as string[]).map((h) => `\`${h}\``).join(', ');

  return `<!-- Generated by libs/contracts/scripts/generate-docs.ts from the zod schemas in libs/contracts/src. Do not edit:
     run \`npx tsx libs/contracts/scripts/generate-docs.ts\`; generated-docs.unit.spec.ts fails when this file is stale. -->

# shardcast contracts

Topic names and payload schemas are shardcast's contract. Every topic is versioned (\`.v1\`). An
incompatible change to a public topic gets a new topic (\`.v2\`), never an edit; an internal topic
may change in place before 1.0; either change is recorded in [docs/decisions](../decisions/README.md)
([0011](../decisions/0011-contract-changes.md)). Adding an optional field is compatible, so the
schemas below do not forbid unknown fields in events; tightening validation is not a version change.

## Topics

Events are keyed by their **domain** (the normalised host name, UTF-8), so each domain's events
stay in order on one partition; \`${Topics.demandObservedV2}\`, whose events carry many domains, is
keyed by the telemetry partition they come from, which keeps a domain's events in order as long as
telemetry is keyed by domain. The partition count is configurable per deployment
(\`KAFKA_TOPIC_PARTITIONS\`, default 6, used when the topics are created), and so is a name prefix
(\`KAFKA_TOPIC_PREFIX\`, default empty: a prefix \`test-1.\` gives \`test-1.${Topics.telemetryRequests}\`).

| Topic | Audience | Carries | Key | Cleanup | Produced by | Consumed by | Value schema | Dead-letter twin |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${topicRows.join('\n')}

### Dead-letter topics

A message a consumer cannot accept goes to \`<topic>.dlq\` with the reason in headers, and the
consumer moves on: an invalid message at once, a valid one that fails every time it is processed
(\`EVENT_UNPROCESSABLE\`) after a few retries with back-off. A failure that says the broker or the
database is unreachable is never dead-lettered: the consumer retries the same offset (its
readiness is false meanwhile). A whole message keeps its **original bytes** (the key too); a
rejected record of a batch is dead-lettered alone, as its JSON, so a batch with a few bad records
never costs a copy of the batch per record. Dead letters are gzip-compressed and dead-letter
topics accept messages up to ${DEAD_LETTER_MAX_MESSAGE_BYTES.toLocaleString('en-US')} bytes; one
the broker still refuses goes to the consuming service's \`quarantined_messages\` table in
PostgreSQL (bounded, with the reason and the source coordinates). Delivery is at least once: a
crash can repeat a dead letter, with the same \`x-dead-letter-id\`. Dead-letter topics keep
messages for a bounded time. The headers (\`DeadLetterHeaders\`):

| Header | Value |
| --- | --- |
${headerRows.join('\n')}

### Error codes

Stable strings (\`ErrorCodes\`), shown verbatim in logs, HTTP 4xx bodies and the \`${DeadLetterHeaders.errorCode}\` header.
They are never renamed: alert and filter on them.

| Code | Meaning |
| --- | --- |
${codeRows.join('\n')}

## Telemetry record format

A \`${Topics.telemetryRequests}\` message value is one JSON record or a batch
\`{"records": [...]}\` of 1 to ${thousands(MAX_RECORDS_PER_MESSAGE)} records ([telemetry-message.schema.json](telemetry-message.schema.json),
[telemetry-record.schema.json](telemetry-record.schema.json)). In a batch, each invalid record is
dead-lettered alone (with \`${DeadLetterHeaders.recordIndex}\`); the valid ones count.

| Field | Type | Meaning |
| --- | --- | --- |
| \`domain\` | string | Host name the request was for. Unicode names are accepted and normalised (IDNA/UTS-46) to lowercase A-labels, a trailing dot dropped: \`Bücher.Example.\` is \`xn--bcher-kva.example\`. |
| \`timestamp\` | integer or string | When the request was served (event time): epoch **milliseconds**, or ISO-8601 **with a zone** (\`Z\` or \`±hh:mm\`). A time without a zone is rejected. |
| \`client\` | object | Where the client was: **either** \`{"lat": <-90..90>, "lon": <-180..180>}\` (degrees, WGS84) **or** \`{"pop": "<edge POP id>"}\`, which ingest maps to the POP's coordinates (\`POPS\` configuration). Nothing else. |
| \`status\` | integer 100–599 | HTTP status code; 500 and above count as errors. |
| \`latencyMs\` | number 0–3,600,000 | Time to last byte, milliseconds. |
| \`bytes\` | integer ≥ 0 | Response bytes sent. |

**Client IP addresses are never sent.** Edges resolve IPs to a location with their own GeoIP data
(or report their POP) before producing; a record with any other field (\`ip\`, \`clientIp\`, …) is
rejected. Ingest maps each location to the nearest configured region by great-circle distance.

Records may arrive late by up to the allowed lateness (\`INGEST_ALLOWED_LATENESS_MS\`, default 2 min,
behind the newest event time of the partition) and may be stamped ahead of the wall clock by up to
\`INGEST_MAX_FUTURE_SKEW_MS\` (default 5 min); outside those, they are dead-lettered (\`TELEMETRY_LATE\`,
\`TELEMETRY_TOO_FAR_IN_FUTURE\`).

## Event envelope

Every event on the other topics carries the envelope below around its payload. Consumers are
idempotent by \`eventId\` (derived from the event's identity, so a replay repeats it);
\`correlationId\` follows one demand change through forecast, plan, assignment and DNS.

| Field | Type | Meaning |
| --- | --- | --- |
${envelopeRows.join('\n')}

## kcat examples

Run them in this order against the local stack (\`npm run stack:up\`, broker \`127.0.0.1:9092\`) and a
fresh ingest (new database schema and consumer group); add your \`KAFKA_TOPIC_PREFIX\` to topic names
if you set one. A test runs every block below in order and checks what this section says they do.

Start ingest (after \`npm run build\`) with the edge POP that the batch below uses (with the
default \`POPS\`, \`{}\`, that record is dead-lettered as \`TELEMETRY_UNKNOWN_POP\`), publishing
observed demand on both \`${Topics.demandObserved}\` and \`${Topics.demandObservedV2}\` (the default is
\`v1\` alone):

\`\`\`sh
POPS='${JSON.stringify(examplePops)}' INGEST_DEMAND_OBSERVED_TOPICS='v1,v2' npm run start:ingest
\`\`\`

Produce one telemetry record, keyed by domain. Ingest counts one request for \`app.example.com\` in
\`eu-central-1\` (Frankfurt, the region nearest the client) in the minute starting 12:00 UTC:

\`\`\`sh
echo 'app.example.com|${JSON.stringify(exampleRecord)}' \\
  | kcat -b 127.0.0.1:9092 -P -t ${Topics.telemetryRequests} -K '|'
\`\`\`

Produce a batch (one message, several records; epoch-millisecond timestamps a minute later). Ingest
counts one more request for \`app.example.com\` in \`eu-central-1\` (POP \`fra1\`), in the minute
starting 12:01, and one request with one error (status 503) for \`xn--bcher-kva.example\` (the
normalised \`bücher.example\`) in \`sa-east-1\` (São Paulo), in the same minute:

\`\`\`sh
echo 'app.example.com|${JSON.stringify(exampleBatch)}' \\
  | kcat -b 127.0.0.1:9092 -P -t ${Topics.telemetryRequests} -K '|'
\`\`\`

Produce a record that breaks the contract (a timestamp without a zone). Ingest counts nothing and
dead-letters the message with \`TELEMETRY_INVALID_RECORD\`:

\`\`\`sh
echo 'app.example.com|${JSON.stringify(exampleRejected)}' \\
  | kcat -b 127.0.0.1:9092 -P -t ${Topics.telemetryRequests} -K '|'
\`\`\`

Consume observed demand (key, then the event). A bucket is published when the partition's
watermark passes it or, as here where nothing newer follows, once the partition has received
nothing for \`INGEST_IDLE_CLOSE_MS\` (a minute): three events, revision 1 each, for
(\`app.example.com\`, \`eu-central-1\`, 12:00) with 1 request, (\`app.example.com\`,
\`eu-central-1\`, 12:01) with 1 request and (\`xn--bcher-kva.example\`, \`sa-east-1\`, 12:01) with 1
request and 1 error:

\`\`\`sh
kcat -b 127.0.0.1:9092 -C -t ${Topics.demandObserved} -o beginning -f '%k %s\\n'
\`\`\`

Consume the same revisions on \`${Topics.demandObservedV2}\`: one event per ingest commit that closed
buckets, keyed by its source partition (\`${Topics.telemetryRequests}:<partition>\`), its
\`payload.source\` naming the commit (partition, offsets, chunk) and \`payload.buckets\` holding
one \`${Topics.demandObserved}\` payload per bucket. Here the three buckets above, revision 1 each,
in one event (or two, if the partition went idle between the two messages and its first minute
was closed on its own). Exact totals per key are the sum of the latest revision of each
(\`domain\`, \`region\`, \`bucketStart\`, \`bucketSeconds\`):

\`\`\`sh
kcat -b 127.0.0.1:9092 -C -t ${Topics.demandObservedV2} -o beginning -f '%k %s\\n'
\`\`\`

Consume shard layouts (compacted: the latest layout per domain, then every change). Nothing is
published here yet: the shard-assigner is a skeleton.

\`\`\`sh
kcat -b 127.0.0.1:9092 -C -t ${Topics.shardAssigned} -o beginning -f '%k %s\\n'
\`\`\`

Read rejected telemetry with the reasons (headers ${dlqHeaders}). It holds one dead letter: the
zone-less record, its original bytes and \`TELEMETRY_INVALID_RECORD\`:

\`\`\`sh
kcat -b 127.0.0.1:9092 -C -t ${deadLetterTopic(Topics.telemetryRequests)} -o beginning -e -f '%h %s\\n'
\`\`\`

## Registering a domain

A registrar or control plane registers a domain on \`${Topics.domainRegistered}\` (or through the
forecaster's \`PUT /v1/domains/{domain}\`, which publishes it on the topic too, and \`DELETE\` a
tombstone, so the topic holds every registration), keyed by the domain. Within seconds the forecaster
publishes a forecast for every market region on \`${Topics.demandForecast}\`, before the first
request: \`priorWeight\` says how much of it is the registration's prior. Markets are ISO countries
(mapped to the nearest region by the rule ingest applies to clients) or region ids, with shares
adding up to 1; without markets the tier's default mix applies. The user base is an expected peak
(\`peakRequestsPerSecond\`) or an \`accountSize\` (\`small\`, \`medium\`, \`large\`) from which the
tier's default derives it. A domain longer than ${MAX_REGISTERED_DOMAIN_LENGTH} characters is refused: its
shard names \`<region-slug>.<domain>\` (slugs up to ${MAX_REGION_SLUG_LENGTH} characters) must fit in 253. Tiers
provision ${Object.entries(TierPolicy).map(([t, p]) => `${t} at ${p.quantile} × ${p.headroom}`).join(', ')} (\`TierPolicy\`).

Register \`app.example.com\` (a web app, pro tier, 400 requests/s at peak, 60 % of its users in
Germany and 40 % in Brazil). The topic then holds this registration for the key:

\`\`\`sh
echo 'app.example.com|${JSON.stringify(exampleRegistration)}' \\
  | kcat -b 127.0.0.1:9092 -P -t ${Topics.domainRegistered} -K '|'
\`\`\`

Deregister it with a tombstone (\`-Z\` sends the empty value as null). The forecaster stops
forecasting it and publishes a \`deregistered\` event on \`${Topics.demandForecast}\`; compaction
later drops the key:

\`\`\`sh
echo 'app.example.com|' | kcat -b 127.0.0.1:9092 -P -t ${Topics.domainRegistered} -K '|' -Z
\`\`\`

## Schema files

JSON Schema (draft 2020-12), generated from the zod schemas in \`libs/contracts/src\`:

${schemaFiles.map((f) => `- [${f}](${f})`).join('\n')}
`;
}

/** Every file of docs/contracts/, generated in memory (the unit test compares these with the disk). */
export function generateContractDocs(): ContractDoc[] {
  const schemas = schemaDocs();
  return [...schemas, { file: 'README.md', content: readme(schemas.map((d) => d.file)) }];
}

/**
 * The repository root: the nearest ancestor (of this file, else of the working directory) whose
 * package.json is the shardcast workspace root. Works from scripts/ under tsx and from dist/ under node.
 */
export function repositoryRoot(starts: string[] = [__dirname, process.cwd()]): string {
  for (const start of starts) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      const manifest = join(dir, 'package.json');
      if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'shardcast') return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`no shardcast package.json above ${starts.join(' or ')}`);
}

export function contractDocsDir(root: string = repositoryRoot()): string {
  return join(root, 'docs', 'contracts');
}

function main(): void {
  const dir = contractDocsDir();
  mkdirSync(dir, { recursive: true });
  const docs = generateContractDocs();
  const wanted = new Set(docs.map((d) => d.file));
  // Files of a removed schema would otherwise stay behind looking current. Hand-written specs
  // beside them (hashing.md and its vectors) are not generated and stay.
  for (const file of readdirSync(dir)) if (!wanted.has(file) && file.endsWith('.schema.json')) unlinkSync(join(dir, file));
  for (const doc of docs) writeFileSync(join(dir, doc.file), doc.content);
  console.log(`wrote ${docs.length} files to ${dir}`);
}

if (require.main === module) main();
