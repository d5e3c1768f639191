import { z } from 'zod';
import { DEMAND_OBSERVED, DemandObserved, DemandObservedSchema } from './demand-observed';
import { envelopeSchema, EventEnvelope } from './envelope';
import { DecimalCountSchema, INT32_MAX, textField } from './fields';

/**
 * Bucket entries per `demand.observed.v2` event at most. A commit with more is split into chunks
 * (by position in the commit's list, and by bytes: see MAX_OBSERVED_BATCH_BUCKET_BYTES).
 */
export const MAX_OBSERVED_BATCH_BUCKETS = 500;

/**
 * The serialised bucket entries of one event at most (ASCII: domains are A-labels, sketches
 * base64): with the envelope, under librdkafka's default `message.max.bytes` (1,000,000) and the
 * broker's 1 MiB. A heavy bucket's sketch runs to several kB, so 500 of them would not fit.
 */
export const MAX_OBSERVED_BATCH_BUCKET_BYTES = 900_000;

/** The commit of a source partition an event reports, and which of its chunks it is. */
export const ObservedBatchSourceSchema = z
  .object({
    topic: textField(249).min(1).describe('the telemetry topic ingest read (as deployed, with its prefix)'),
    partition: z.number().int().nonnegative().max(INT32_MAX),
    fromOffset: DecimalCountSchema.nullable().describe(
      "the partition's stored offset before the commit (null for its first commit): the commit read offsets fromOffset to commitOffset − 1; equal to commitOffset when an idle partition's buckets were closed without reading anything",
    ),
    commitOffset: DecimalCountSchema.describe("the partition's offset after the commit: the next offset ingest reads"),
    chunk: z.number().int().nonnegative().max(INT32_MAX).describe('which chunk of the commit this event is, from 0'),
    chunks: z.number().int().positive().max(INT32_MAX).describe("how many chunks the commit's buckets were cut into (a chunk whose revisions were all replaced before a late send is left out)"),
  })
  .refine((s) => s.chunk < s.chunks, { message: 'chunk must be below chunks', path: ['chunk'] });

/**
 * The bucket revisions one ingest commit of a source partition closed (or a chunk of them), each
 * a `demand.observed.v1` payload: a later revision of a key (domain, region, bucketStart,
 * bucketSeconds) replaces an earlier one and holds all of it.
 */
export const DemandObservedBatchSchema = z.object({
  source: ObservedBatchSourceSchema,
  buckets: z.array(DemandObservedSchema).min(1).max(MAX_OBSERVED_BATCH_BUCKETS),
});

export const DemandObservedBatchEventSchema = envelopeSchema(DEMAND_OBSERVED, DemandObservedBatchSchema);
export type ObservedBatchSource = z.infer<typeof ObservedBatchSourceSchema>;
export interface DemandObservedBatch {
  source: ObservedBatchSource;
  buckets: DemandObserved[];
}
export type DemandObservedBatchEvent = EventEnvelope<typeof DEMAND_OBSERVED, DemandObservedBatch>;

/** The Kafka key of a v2 event: its source partition, so one partition's events stay in order. */
export const observedBatchKey = (source: Pick<ObservedBatchSource, 'topic' | 'partition'>): string => `${source.topic}:${source.partition}`;
