import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { ShardAssignedEventSchema } from '@shardcast/contracts';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { DnsStore } from '../persistence/dns-store';
import { DomainPublisher } from '../publishing/domain-publisher';

/**
 * Consumes shard.assigned.v1 (compacted): a newer layout is stored and the domain's records are
 * brought in line with it; an older or repeated one changes nothing; a tombstone deletes the
 * domain's records (and its zone, if nothing foreign is left in it).
 */
export function shardAssignedHandler(topic: string): Type<unknown> {
  @Controller()
  class ShardAssignedHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly store: DnsStore,
      private readonly publisher: DomainPublisher,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(
        ShardAssignedEventSchema,
        context,
        async (event) => {
          const layout = event.payload;
          this.logger.debug({ topic, partition: context.getPartition(), offset: context.getMessage().offset, eventId: event.eventId, correlationId: event.correlationId, domain: layout.domain, version: layout.version }, 'event received');
          const newer = await this.store.withDomainLock(layout.domain, (tx) => this.store.putLayout(tx, layout.domain, layout.version, layout, event.eventId));
          if (!newer) {
            this.logger.debug({ domain: layout.domain, version: layout.version }, 'layout not newer than the one held; skipped');
            return;
          }
          await this.publisher.publish(layout.domain, { layoutVersion: layout.version, eventId: event.eventId });
        },
        {
          onTombstone: async (key) => {
            if (!key) return;
            await this.store.withDomainLock(key, (tx) => this.store.deleteLayout(tx, key));
            await this.publisher.publish(key, { layoutVersion: null, eventId: null, tombstone: true });
          },
        },
      );
    }
  }
  return ShardAssignedHandler;
}
