/**
 * Kafka topics are shardcast's public contract: versioned, keyed by domain so each domain's
 * events stay in order (`demand.observed.v2`, whose events carry many domains, by source
 * partition). A new incompatible payload gets a new topic (`.v2`), never an edit.
 */
export const Topics = {
  telemetryRequests: 'telemetry.requests.v1',
  domainRegistered: 'domain.registered.v1',
  demandObserved: 'demand.observed.v1',
  demandObservedV2: 'demand.observed.v2',
  demandForecast: 'demand.forecast.v1',
  capacityPlan: 'capacity.plan.v1',
  shardAssigned: 'shard.assigned.v1',
  shardHealth: 'shard.health.v1',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

/** Every topic has a dead-letter twin holding rejected messages, original bytes and reason. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

export interface TopicSpec {
  name: string;
  /** Compacted topics keep the latest value per key (latest state per domain). */
  compacted: boolean;
  /** Retention in ms; undefined keeps the broker default. */
  retentionMs?: number;
  /** The largest (compressed) message batch the topic accepts; undefined keeps the broker default (1 MiB). */
  maxMessageBytes?: number;
}

/**
 * A dead letter is one message of its source topic, which takes batches up to the broker's 1 MiB
 * compressed: re-compressed with gzip instead of the producer's codec (zstd compresses JSON up to
 * about twice as well), plus headers, it fits in 4 MiB. Larger ones go to the quarantine table.
 */
export const DEAD_LETTER_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Latest state per domain: a tombstone deletes it. */
const COMPACTED = new Set<string>([Topics.domainRegistered, Topics.shardAssigned]);

const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000;

/**
 * All topics the services need, with their dead-letter twins. DLQs get a bounded retention
 * because rejected telemetry may carry client IP addresses (personal data).
 */
export function contractTopicSpecs(): TopicSpec[] {
  const specs: TopicSpec[] = [];
  for (const name of Object.values(Topics)) {
    specs.push({ name, compacted: COMPACTED.has(name) });
    specs.push({ name: deadLetterTopic(name), compacted: false, retentionMs: SEVEN_DAYS_MS, maxMessageBytes: DEAD_LETTER_MAX_MESSAGE_BYTES });
  }
  return specs;
}
