import { Type } from '@nestjs/common';
import { ShardAssignedEventSchema } from '@shardcast/contracts';
import { contractEventHandler } from '@shardcast/platform';

/** Consumes shard.assigned.v1: the shard layouts it turns into DNS records (observed only, until its issue builds the logic). */
export function shardAssignedHandler(topic: string): Type<unknown> {
  return contractEventHandler(topic, ShardAssignedEventSchema, (e) => ({ eventId: e.eventId, correlationId: e.correlationId, domain: e.payload.domain, version: e.payload.version, shards: e.payload.shards.length }), {
    compacted: true,
  });
}
