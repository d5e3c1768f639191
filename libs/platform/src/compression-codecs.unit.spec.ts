import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { registerCompressionCodecs, snappyDecompress } from './compression-codecs';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const snappyjs = require('snappyjs') as { compress(b: Uint8Array): Uint8Array };

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

registerCompressionCodecs();
type CodecType = Exclude<CompressionTypes, CompressionTypes.None>;
const codec = (type: CodecType): Codec => (CompressionCodecs[type] as unknown as () => Codec)();

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** Frames data as Java's SnappyOutputStream (xerial) does: header, then [length BE][snappy block] per chunk. */
function xerialFrame(data: Buffer, chunkSize = 32 * 1024): Buffer {
  const header = Buffer.alloc(16);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // minimum compatible version
  const parts = [header];
  for (let at = 0; at < data.length; at += chunkSize) {
    const block = Buffer.from(snappyjs.compress(data.subarray(at, at + chunkSize)));
    const size = Buffer.alloc(4);
    size.writeUInt32BE(block.length, 0);
    parts.push(size, block);
  }
  return Buffer.concat(parts);
}

/** Deterministic telemetry-like payload (JSON lines): what Kafka batches of this project look like. */
function telemetryPayload(n = 200): Buffer {
  let s = '';
  for (let i = 0; i < n; i++) {
    s += JSON.stringify({ domain: 'app.example.com', timestamp: 1764075600000 + i * 137, client: { lat: 50.11, lon: 8.68 }, status: i % 17 ? 200 : 503, latencyMs: i % 89, bytes: 1000 + i }) + '\n';
  }
  return Buffer.from(s);
}

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a)),
  fc.tuple(fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 3000 })).map(([s, n]) => Buffer.from(s.repeat(n))),
);

function cli(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}
const run = (cmd: string, args: string[], input: Buffer): Buffer => {
  const out = spawnSync(cmd, args, { input, maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${out.stderr.toString()}`);
  return out.stdout;
};

describe('snappy', () => {
  it('property: raw blocks round-trip through the registered codec', async () => {
    await fc.assert(
      fc.asyncProperty(payload, async (data) => {
        const compressed = await codec(CompressionTypes.Snappy).compress({ buffer: data });
        expect((await codec(CompressionTypes.Snappy).decompress(compressed)).equals(data)).toBe(true);
        expect(snappyDecompress(compressed).equals(data)).toBe(true);
      }),
    );
  });

  it('property: xerial-framed data (one or many chunks) decompresses to the original', async () => {
    await fc.assert(
      fc.asyncProperty(payload, fc.integer({ min: 1, max: 40_000 }), async (data, chunkSize) => {
        const framed = xerialFrame(data, chunkSize);
        expect(framed.subarray(0, 8).equals(XERIAL_MAGIC)).toBe(true);
        expect((await codec(CompressionTypes.Snappy).decompress(framed)).equals(data)).toBe(true);
      }),
    );
  });

  it('decompresses a 100 KB telemetry batch framed in 32 KB xerial chunks (Java producer default)', () => {
    const data = telemetryPayload(800);
    expect(data.length).toBeGreaterThan(3 * 32 * 1024);
    expect(snappyDecompress(xerialFrame(data)).equals(data)).toBe(true);
  });

  it('decompresses an xerial frame with no chunks to an empty buffer', () => {
    expect(snappyDecompress(xerialFrame(Buffer.alloc(0)))).toEqual(Buffer.alloc(0));
  });
});

describe('lz4', () => {
  it('property: compress then decompress gives the original', async () => {
    await fc.assert(
      fc.asyncProperty(payload, async (data) => {
        const lz4 = codec(CompressionTypes.LZ4);
        expect((await lz4.decompress(await lz4.compress({ buffer: data }))).equals(data)).toBe(true);
      }),
    );
  });

  const withLz4Cli = cli('lz4') ? it : it.skip;
  withLz4Cli('interoperates with the reference lz4 frame format (lz4 CLI) both ways', async () => {
    const lz4 = codec(CompressionTypes.LZ4);
    for (const data of [telemetryPayload(), Buffer.from('x'), telemetryPayload(3000)]) {
      const byCli = run('lz4', ['-q', '-c'], data);
      expect((await lz4.decompress(byCli)).equals(data)).toBe(true);
      const byUs = await lz4.compress({ buffer: data });
      expect(run('lz4', ['-q', '-d', '-c'], byUs).equals(data)).toBe(true);
    }
  });
});

describe('zstd', () => {
  // Made with the zstd CLI v1.5.4 from telemetryPayload(): `zstd -19 payload.txt` (frame with content size)
  // and `cat payload.txt | zstd -c` (streamed frame without content size, as zstd-jni/librdkafka write).
  const FRAME_WITH_SIZE = Buffer.from('KLUv/WRyZKUpACplYAwakCvLARj5Q66xMo/ys4+RSJmSlCmpRX7XD07rALEArwArGgpF5jOZfJ6QkCCZarXSoVIdnPctx7guWzKdTl2kUhq3HYelUNddGI3GJsXqi0guna+yaXqGMxShELHsZiRl0XE/BYMhr1XDNJrl+4r1zNpsZoIyoVXX0TmKeNtjYrF4K6olBblij9eUwyRNzJAlhGQa3YRBOReL4DsAESJiCgcGDA0PBhwSQuHAQMADAgkYEhqjcGDQoGGhgcEhIQI5ACkcEig4cEjYAsQoHBoWDhwgKBwaEjAYOEDgkBCeh/hTOCxAsNDAgAGBgYZDwgGBAgIBGA4sQLDggCHAggULB4VDAgMLCBQUOEAIVQmveEvUoi2K1jgiIk9wp1OtNpOJ9G1oaMSbkBDFbKXS3o1EknIbjV6xBQWFK1avlxSj002O/X/JxHyfk9h8PmdMLqcu1veLiPG8mGrfz1c8HjVVLnekyGSvdd/1lW1TosbjiSKxmHyq69VE01JC8/wphcNBUk1NKYiGxlL/fCroHg/vz8xM5zIyVH2nM/McjnDfbE7lmJgYcklJd5OQ+OPLpSq2WBj1yMh4FhEhhiuVMp/By6oLWsaI4MjGVBMZ8bXKVlOjTEZqk32thSxoteoqUaPOUbR35dPcjTVtuimhSUdTakVGElsRClopl3p0EqMXQ3qfWHXnJ7WqN1+aH7rDXTglKpfSDZlsZffI/uPgGiKuRRullb2PimHvLJp55rKhuZORcBXpxgdji8dUBNuiKNcfVGPHyZnwUCWGhA3ZNmF08lrwpYhtEa+K1UNVpryoiK5zNuVZVGro1JLJGQAiVNU8qcydr6IyXRwyp2Y3pehjtiZisiRqrnbPjIqGWdSiIdE8H55W89A0kgyHNtKh0Cg4LG2PIWnSEo72ujBoYQvrK0dIn6nCfyUU+uMmnG9epXxUKvstXvITT7nvlDK+RbEsr7OSPC/Ke3Ui7VFOjjdhUjyykPXWkvSkRs77BBlesMaalT7SzOLxs4oZPeM7zmzKUWZUMXa2uYKcCSm42cnBmMVMsGSdBCmCH6gyaNg02PvPHJJnVKg0BhJAEBhBAFCAECAE/38CxckPtifmQ9Zf1l/WX7a/rL+s/3qjfaL9o/mjKp8hJpzol8h5IH9M/Z/6P/V/2v+p/1P/p/5f/b/6/+r/ydF+qc5D8cfVv/4v2/KaR8WPVP6v8lf9r8pP9f/V/6v/V/+v/l/9f0S0X6rzUPxx9a//y7a85lHxI5X/q/xV/6vyU/1/9f/q/9X/q/9X/x8R7ZfqPBR/XP3r/6Itr5k8FleaM0EjBk5Z6MXREOBeGpKDII5gLsDpVFQnIJZBOiuIMxyLIKpOKZjRqROdEpy0UVI7DOp5UI6TYrapTpNKALNYqh0Y9cwoR1Yx41Xnha2iwMlBs4lFU6rDwFTiHofHzTgthnkznjYGgTkao4Fsy5ok0zCYZ+gIMnVbaKISW4b/RI8RtmxiqeCbyKeFt0ksGvpv9PTwNslFQt+NnBSEdQqUZRiOwjrAuhRGJ0GcwVwKiLM4jmAuwHQqVicglkE6FYwzHIsgHcR2CsslAM7COgXKMgxHYR1gXQqjkyDOYC4FxFkcRzAXYDoVqxMQyyCdCsYZrsIphSMTIbOrU7saAjlIpg4MWjaWY3cx66tTuxqa9bG9GizpGYzjNzFv2KWKKrF2JptIMKRFK2oApmcydaQTM546wBRUGgKzMC4VnLJZMI4rw2yZTpNpGMzTuTkrTUhMoNm0gACtAMRbASBn/Sk=', 'base64');
  const STREAMED_FRAME = Buffer.from('KLUv/QRYpS0ACkyUCR5wNwXNAeGqCI0RMWdo+lltq54YLS1tIuuju/+xngizAJIAgwCVRzQ0ZTTTohkcmqHSzFN7Oe3gtGnTWk1bmhY7bT3tMu1hW7q+WN+o3+nn/ZL++eP9ZC/1y03mTBEt5busNGuxqtCIkGrmqaXri/RmAA0iMmIwKBYGBIyDIAZDAAMFCYpF4mAcRgoxGAgsEguGcWhAI0DESFA4GIcnkEKMReJgHECMRYLC4KBgHMTqhOxGjAWExIJBgWCwGIeBoFBAoDhYQEgUUBAsLCQGYiQYJBAUBowDASJyr0eG+X3XSzk5ycq0tClKNDR78uws7zQzK0mWlZUkkpGhHY6NPYa1GiXhtl0NiolJi1lZg4JYWEZ5V1cpeFZWPbuqqpo6KirMuamprddqUb/rOkyTkpJCS0qaz5CQ7MqOjnLIjIwqY0VFZRsREVZsaOjEKpWorqbpthISEqTKyRmawsExad3cpEnZ2HSSamoCn33Zk/3Yby/2WH/1Vk/1U9/6k5InSc4juYzkFsk4JFNJfpIvR8b5mzPHCtNKl9ixbD2VtQwlHnZyujZJrOcZVVJmmpN3REQr6YeHeb6hYfG+sLDInpAQpX5w8JsvFmn643gpLygolnJe3hRlPDxDk+/ukkq2s+sk19XVVaajw1memzsAGjKtl/0yrWg9a1nJOlbbcsQQq9+lVafqU73VpXpSP+pGvagP9VKfek7H6Te9ptP0Tn+6TMf2a7d2ap/226U973e3e93n3rvcUzpKN+klnaRX+tJFOuZffuVT/uSfL/mJf/iGT/iDX3zBz3u8t/u6n/vef5/2aAeCYaiyEW2dtv91Mg4rQmiCDxJAEDiBI0MEDcGPIAQ/RWH+oXMuupN65KJbtTW/0n1OHl9506PSK2+L2eGVdz1pduXt3IiudDM1CkRuWow89Dauzq3krrTmbmVG4AkGCyd4TsGV9h+Ckys7Ju5FV9o6cnZlhYaHV1owVXqloOPFVxI+I7/yhJMDLM3dlmAJ4/YEyyutJ1h6MCzB8ohzCZYOj0mwvOB4gqWL0xIs/SstpFwKnnOCpYVDJFgKfFslWBp4zARLwSMSLPWdKsEyfowEyzTnTrDMnSrBsu/uBEvptk6wrLMqwVLYoRIs489IsJRz7ATLtKMSLPVOnWBpWmnhXCl4TgmWNhk6wVLg6yrB0saxEywVGp1gqWaqBMuwYyVYhp8jwTLn1AmWeXclWOrdOsEyvdUJlmqGSrAMd1aCpfgxEizTHJ1gKXeqBEt7pYWzS8FzTrC0cIgES4FvqwRLA4+ZYCl4RIKlvlMlWMaPkWCZ5twJlrlTJVj23Z1gKd3WCZZ1ViVYCjtUgmX8GQmWco6dYJl2VIKl3qkTLE0rLZwrBc8pwdImQydYCnxdJVjaOHaCpUKjEyzVTJVgGXasBMvwcyRY5pw6wTKvtnJRtprKRbG0Ixb1C9ZU1CNYoSi/YGai8IIdiXIFWyI6V5pmA4WfA4FoAULBlWb4+q0M28RKsxJRm87SCDQBsBtRAuDTkS4e04+YlUCImAEFJG0IpUcShlBCkjaE0icJQygFSgbjfPTH8dgZ94MqHcfOdB+q4jjmjPtAFcdiZ9wPqnQcO8N9qIrjmDPuA1Uci51xP6jScewM96Ea4wKLYNgxwNMcmjoP+RoFk05Bp+ZA2BHc0QiNnQY8jYNZ55BbUzDoFOhqDomdwh0NwbhjwKM5GHUO8jWFhs6CrsaBtCPcoREMOwZ4mkNT5yFfo2DSKejUHAg7gjsaobHTgKdxMOsccmsKhmdaCjE9qgQhLQoNwSgJRzYxmgjS8qLf0KV+KxsoY0mdtKqIUUUcieRKp64yWBedVD4sGulMVSTNbcJjBQdFIJWRiYgiOyVadWBFtMrAguhUgfHQLwLToU9GXGZqjUK8dMom0kYafRKRG53ayNQZLpRyMRNwWwEIaAMgZ/0p', 'base64');

  it('decompresses a zstd frame that declares its content size', async () => {
    expect((await codec(CompressionTypes.ZSTD).decompress(FRAME_WITH_SIZE)).equals(telemetryPayload())).toBe(true);
  });

  it('decompresses a streamed zstd frame without a content size', async () => {
    expect((await codec(CompressionTypes.ZSTD).decompress(STREAMED_FRAME)).equals(telemetryPayload())).toBe(true);
  });

  const withZstdCli = cli('zstd') ? it : it.skip;
  withZstdCli('property: decompresses whatever the zstd CLI compresses, at any level', async () => {
    await fc.assert(
      fc.asyncProperty(payload, fc.integer({ min: 1, max: 19 }), async (data, level) => {
        const frame = run('zstd', ['-q', '-c', `-${level}`], data);
        expect((await codec(CompressionTypes.ZSTD).decompress(frame)).equals(data)).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('refuses to compress (shardcast only reads zstd)', async () => {
    await expect(codec(CompressionTypes.ZSTD).compress({ buffer: Buffer.from('x') })).rejects.toThrow(/does not produce/);
  });
});

describe('registerCompressionCodecs', () => {
  it('registers lz4, snappy and zstd and is safe to call twice', () => {
    registerCompressionCodecs();
    for (const type of [CompressionTypes.LZ4, CompressionTypes.Snappy, CompressionTypes.ZSTD] as CodecType[]) expect(typeof CompressionCodecs[type]).toBe('function');
  });
});
