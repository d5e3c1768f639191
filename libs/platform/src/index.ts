// What services, libs and tools use of the platform; anything else stays internal
// (architecture-rules.unit.spec.ts checks that every name here is used outside this lib).
export { API_KEYS, ApiKeyGuard } from './api-key.guard';
export { deployedTopic, PlatformConfigSchema } from './config';
export { ConsumerFailures } from './consumer-failures';
export { ContractEventGate, SERVICE_LOGGER } from './contract-event-gate';
export { contractEventHandler } from './contract-event-handler';
export { createServiceDataSource, openServiceDatabase } from './database';
export { DeadLetter, DeadLetterPublisher } from './dead-letter-publisher';
export { DomainTicker } from './domain-ticker';
export { classifyFailure } from './failure-classification';
export { HistoryJob } from './history-job';
export { createDayPartitions, daysOf, HistoryPartitionDays, HistoryTables, isMissingPartition, PostgresHistoryPartitions, runHistoryJob } from './history-partitions';
export { createKafka, ensureTopics } from './kafka-client';
export { createLogger, Logger } from './logger';
export { EventBatchProducer, EventOutboxTable, inPollTransaction, OutboxEvent, OutboxMessage, OutboxRelay, OutboxTable, outboxTableDdl } from './outbox-relay';
export { BatchConsumer, BatchMessage, PackedRun, PartitionBatch, PartitionBatchConsumer, PartitionBatchHandler } from './partition-batch-consumer';
export { PostgresQuarantine } from './quarantine-table';
export { Reachability } from './reachability';
export { ReadinessRegistry } from './readiness';
export { createRedis } from './redis-client';
export { runService, SERVICE_CONFIG } from './service-bootstrap';
export { ServiceInfraModule } from './service-infra.module';
