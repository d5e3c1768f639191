import { CompressionCodecs, CompressionTypes } from 'kafkajs';
// Pure-JS codecs: the native ones need node-gyp downloads this project cannot count on.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lz4js = require('lz4js') as { compress(b: Uint8Array): Uint8Array; decompress(b: Uint8Array): Uint8Array };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const snappyjs = require('snappyjs') as { compress(b: Uint8Array): Uint8Array; uncompress(b: Uint8Array): Uint8Array };
import { decompress as zstdDecompress } from 'fzstd';

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** Java's and librdkafka's snappy producers may wrap blocks in xerial's framing. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

export function snappyDecompress(buffer: Buffer): Buffer {
  if (buffer.length < 16 || !buffer.subarray(0, 8).equals(XERIAL_MAGIC)) return Buffer.from(snappyjs.uncompress(buffer));
  const chunks: Buffer[] = [];
  let offset = 16; // magic(8) + version(4) + compatible version(4)
  while (offset < buffer.length) {
    const size = buffer.readUInt32BE(offset);
    offset += 4;
    chunks.push(Buffer.from(snappyjs.uncompress(buffer.subarray(offset, offset + size))));
    offset += size;
  }
  return Buffer.concat(chunks);
}

const lz4Codec: Codec = {
  async compress(encoder) {
    return Buffer.from(lz4js.compress(encoder.buffer));
  },
  async decompress(buffer) {
    return Buffer.from(lz4js.decompress(buffer));
  },
};

const snappyCodec: Codec = {
  async compress(encoder) {
    return Buffer.from(snappyjs.compress(encoder.buffer));
  },
  async decompress(buffer) {
    return snappyDecompress(buffer);
  },
};

const zstdCodec: Codec = {
  async compress() {
    throw new Error('shardcast reads zstd batches but does not produce them; use gzip, lz4 or snappy');
  },
  async decompress(buffer) {
    return Buffer.from(zstdDecompress(buffer));
  },
};

let registered = false;

/**
 * kafkajs decompresses only gzip by itself; an lz4, snappy or zstd batch from an outside producer
 * would throw KafkaJSNotImplemented (tulios/kafkajs#1141). Registered once per process.
 */
export function registerCompressionCodecs(): void {
  if (registered) return;
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4Codec;
  CompressionCodecs[CompressionTypes.Snappy] = () => snappyCodec;
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstdCodec;
  registered = true;
}
