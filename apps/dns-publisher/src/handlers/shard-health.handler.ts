import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { ShardHealthEventSchema } from '@shardcast/contracts';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { DnsStore } from '../persistence/dns-store';
import { DomainPublisher } from '../publishing/domain-publisher';

/**
 * Consumes shard.health.v1: dns-publisher holds the one health view every nameserver answers by
 * (none probes on its own). A newer window for a shard is stored and its domain republished when
 * the shard's up/down changed; health never goes through the shard-assigner's layout.
 */
export function shardHealthHandler(topic: string): Type<unknown> {
  @Controller()
  class ShardHealthHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly store: DnsStore,
      private readonly publisher: DomainPublisher,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(ShardHealthEventSchema, context, async (event) => {
        const h = event.payload;
        this.logger.debug({ topic, partition: context.getPartition(), offset: context.getMessage().offset, eventId: event.eventId, correlationId: event.correlationId, domain: h.domain, hostname: h.hostname, status: h.status }, 'event received');
        const changed = await this.store.withDomainLock(h.domain, async (tx) => {
          const before = (await this.store.health(tx, h.domain)).get(h.hostname) ?? 'up';
          if (!(await this.store.putHealth(tx, h.hostname, h.domain, h.status, h.windowStart, event.eventId))) return false;
          return before !== (h.status === 'down' ? 'down' : 'up');
        });
        if (!changed) return;
        this.logger.info({ domain: h.domain, hostname: h.hostname, status: h.status }, 'shard health changed');
        await this.publisher.publish(h.domain, { layoutVersion: null, eventId: event.eventId });
      });
    }
  }
  return ShardHealthHandler;
}
