import { Controller, Inject, Type } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { DomainRegisteredEventSchema, normalizeDomain } from '@shardcast/contracts';
import { ContractEventGate, Logger, SERVICE_LOGGER } from '@shardcast/platform';
import { DomainRegistry } from '../registration/domain-registry';

/**
 * Consumes domain.registered.v1 (compacted, keyed by domain): a registration is stored and
 * forecast at once; a tombstone deregisters its key's domain. Invalid registrations are
 * dead-lettered by the gate with the schema's reasons.
 */
export function domainRegisteredHandler(topic: string): Type<unknown> {
  @Controller()
  class DomainRegisteredHandler {
    constructor(
      @Inject(SERVICE_LOGGER) private readonly logger: Logger,
      private readonly gate: ContractEventGate,
      private readonly registry: DomainRegistry,
    ) {}

    @EventPattern(topic)
    async handle(@Ctx() context: KafkaContext): Promise<void> {
      await this.gate.consume(
        DomainRegisteredEventSchema,
        context,
        async (event) => {
          await this.registry.register(event.payload, { eventId: event.eventId, correlationId: event.correlationId });
        },
        {
          onTombstone: async (key) => {
            const checked = normalizeDomain(key);
            if (!checked.ok) {
              this.logger.warn({ topic, key, reason: checked.reason }, 'tombstone for a key that is not a domain: nothing to deregister');
              return;
            }
            await this.registry.deregister(checked.domain, null);
          },
        },
      );
    }
  }
  return DomainRegisteredHandler;
}
