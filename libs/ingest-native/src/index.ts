export { LibrdkafkaBatchConsumer, LibrdkafkaBatchConsumerOptions, loadLibrdkafkaConsumer } from './librdkafka-batch-consumer';
export { LibrdkafkaProducer, LibrdkafkaProducerOptions } from './librdkafka-producer';
export { loadNativeTelemetryScanner, NativeTelemetryScanner } from './native-telemetry-scanner';
