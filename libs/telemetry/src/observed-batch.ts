import {
  DEMAND_OBSERVED,
  DemandObserved,
  DemandObservedBatchEvent,
  deterministicEventId,
  MAX_OBSERVED_BATCH_BUCKET_BYTES,
  MAX_OBSERVED_BATCH_BUCKETS,
  ObservedBatchSource,
  observedBatchKey,
  Topics,
} from '@shardcast/contracts';
import { envelopeJsonHead, jsonNumber, jsonString, serializeDemandObservedPayload } from './bucket-publication';

/**
 * One ingest commit of a source partition, as its outbox row names it: what a
 * `demand.observed.v2` event's id and `source` are made of.
 */
export interface ObservedCommit {
  topic: string;
  partition: number;
  /** The partition's stored offset before the commit; null for its first commit. */
  fromOffset: string | null;
  /** Its offset after the commit. */
  commitOffset: string;
}

/**
 * The id of a commit's chunk. The offsets before and after the commit both go in: a close of an
 * idle partition commits at the offset its previous batch left (nothing read), so the offset
 * after alone would repeat that batch's ids.
 */
export function observedBatchEventId(commit: ObservedCommit, chunk: number): string {
  return deterministicEventId(Topics.demandObservedV2, commit.topic, commit.partition, commit.fromOffset ?? '', commit.commitOffset, chunk);
}

/** Characters a bucket entry's JSON takes besides its domain, region and sketch, at most (keys ~170, bucket start 27, ten numbers of up to 25: ~450). */
const ENTRY_JSON_OVERHEAD = 512;

/**
 * An upper bound on a bucket entry's JSON length from what the commit knows before serialising
 * anything: domains are A-labels and regions ids (nothing JSON escapes), the sketch goes as base64.
 */
export function observedBucketJsonBound(domain: string, region: string, sketchBytes: number): number {
  return ENTRY_JSON_OVERHEAD + domain.length + region.length + 4 * Math.ceil(sketchBytes / 3);
}

/**
 * Where the chunks of a commit's bucket list end (exclusive positions): a chunk closes at
 * MAX_OBSERVED_BATCH_BUCKETS entries or before its bounds pass MAX_OBSERVED_BATCH_BUCKET_BYTES
 * (a heavy bucket's sketch is several kB). Cut once, when the commit is written, and stored with
 * its outbox row: a rebuild cuts the same way even when some revisions have dropped out since.
 */
export function observedBatchChunkEnds(entryBounds: readonly number[], maxBuckets = MAX_OBSERVED_BATCH_BUCKETS, maxBytes = MAX_OBSERVED_BATCH_BUCKET_BYTES): number[] {
  const ends: number[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < entryBounds.length; i++) {
    const fits = i - start < maxBuckets && bytes + entryBounds[i] + 1 <= maxBytes;
    if (!fits && i > start) {
      ends.push(i);
      start = i;
      bytes = 0;
    }
    bytes += entryBounds[i] + 1; // its comma
  }
  if (entryBounds.length > start) ends.push(entryBounds.length);
  return ends;
}

/** A bucket entry of a commit: its position in the commit's list (0-based) and its JSON (serializeDemandObservedPayload). */
export interface ObservedBucketJson {
  position: number;
  json: string;
}

/** A v2 event ready to send: its id, Kafka key and JSON. */
export interface ObservedBatchMessage {
  eventId: string;
  key: string;
  payload: string;
}

/**
 * The `demand.observed.v2` events of a commit: its entries (in position order) cut at `chunkEnds`.
 * The writer passes every entry; an outbox poll passes those still stored (a revision replaced
 * since drops out, and a chunk left empty is not sent), and gets the same ids and, for what is
 * left, the same bytes.
 */
export function observedBatchMessages(commit: ObservedCommit, chunkEnds: readonly number[], entries: readonly ObservedBucketJson[], producedBy: string, occurredAt: string): ObservedBatchMessage[] {
  const messages: ObservedBatchMessage[] = [];
  const key = observedBatchKey(commit);
  let next = 0;
  for (let chunk = 0; chunk < chunkEnds.length && next < entries.length; chunk++) {
    const jsons: string[] = [];
    while (next < entries.length && entries[next].position < chunkEnds[chunk]) jsons.push(entries[next++].json);
    if (jsons.length === 0) continue;
    const eventId = observedBatchEventId(commit, chunk);
    const source: ObservedBatchSource = { ...sourceOf(commit), chunk, chunks: chunkEnds.length };
    messages.push({ eventId, key, payload: batchEventJson({ eventId, type: DEMAND_OBSERVED, occurredAt, producedBy, correlationId: eventId, causationId: null }, source, jsons) });
  }
  if (next < entries.length) throw new Error(`bucket entry at position ${entries[next].position} lies past the commit's last chunk (${chunkEnds.at(-1) ?? 0})`);
  return messages;
}

/** The event of one chunk as an object (what observedBatchMessages writes, for readers and tests). */
export function demandObservedBatchEvent(commit: ObservedCommit, chunk: number, chunks: number, buckets: DemandObserved[], producedBy: string, occurredAt: string): DemandObservedBatchEvent {
  const eventId = observedBatchEventId(commit, chunk);
  return { eventId, type: DEMAND_OBSERVED, occurredAt, producedBy, correlationId: eventId, causationId: null, payload: { source: { ...sourceOf(commit), chunk, chunks }, buckets } };
}

/** JSON.stringify(event), written out field by field like serializeDemandObservedEvent (a property test holds it to JSON.stringify). */
export function serializeDemandObservedBatchEvent(e: DemandObservedBatchEvent): string {
  return batchEventJson(e, e.payload.source, e.payload.buckets.map(serializeDemandObservedPayload));
}

const sourceOf = (c: ObservedCommit) => ({ topic: c.topic, partition: c.partition, fromOffset: c.fromOffset, commitOffset: c.commitOffset });

function batchEventJson(envelope: Omit<DemandObservedBatchEvent, 'payload'>, s: ObservedBatchSource, bucketJsons: readonly string[]): string {
  return (
    `${envelopeJsonHead(envelope)}{"source":{"topic":${jsonString(s.topic)},"partition":${jsonNumber(s.partition)},` +
    `"fromOffset":${s.fromOffset === null ? 'null' : jsonString(s.fromOffset)},"commitOffset":${jsonString(s.commitOffset)},` +
    `"chunk":${jsonNumber(s.chunk)},"chunks":${jsonNumber(s.chunks)}},"buckets":[${bucketJsons.join(',')}]}}`
  );
}
