// What apps/ingest (and bench) use: the librdkafka client and the C implementation of
// libs/telemetry's PackedTelemetryScanner, each with a loader that says why it cannot be used.
export { LibrdkafkaBatchConsumer, loadLibrdkafkaConsumer } from './librdkafka-batch-consumer';
export { LibrdkafkaProducer } from './librdkafka-producer';
export { loadNativeTelemetryScanner } from './native-telemetry-scanner';
