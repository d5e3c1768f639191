import { PartitionBatch } from '@shardcast/platform';
import { MessageRejection } from '@shardcast/telemetry';
import { deadLettersFor } from './telemetry-requests.handler';

function batchOf(values: Array<Buffer | null>): PartitionBatch {
  const messages = values.map((value, i) => ({ offset: String(10 + i), key: Buffer.from(`k${i}`), value }));
  return { topic: 't', partition: 2, messages, heartbeat: async () => undefined, isStale: () => false } as unknown as PartitionBatch;
}

const rejection = (offset: number, index: number | null, value: Buffer | null): MessageRejection => ({ offset: BigInt(offset), index, value, code: 'TELEMETRY_INVALID_RECORD', reason: 'bad' });

describe('deadLettersFor', () => {
  it('dead-letters a rejected record of a batch alone, as its JSON, one letter per record', () => {
    const value = Buffer.from(JSON.stringify({ records: [{ a: 1 }, { b: 2 }, { c: 3 }] }));
    const letters = deadLettersFor(batchOf([value]), [rejection(10, 0, value), rejection(10, 2, value)]);
    expect(letters.map((l) => [l.offset, l.recordIndex, l.value?.toString(), String(l.key)])).toEqual([
      ['10', 0, '{"a":1}', 'k0'],
      ['10', 2, '{"c":3}', 'k0'],
    ]);
  });

  it('keeps the original bytes of a whole rejected message, tombstones included', () => {
    const garbage = Buffer.from([0xff, 0x00, 0x7b]);
    const letters = deadLettersFor(batchOf([garbage, null]), [rejection(10, null, garbage), rejection(11, null, null)]);
    expect(letters.map((l) => [l.offset, l.recordIndex, l.value])).toEqual([
      ['10', undefined, garbage],
      ['11', undefined, null],
    ]);
  });

  it('never throws on a record nested too deep to write back: the original bytes stand in for it', () => {
    const value = Buffer.from(`{"records":${'['.repeat(20_000)}${']'.repeat(20_000)}}`);
    const letters = deadLettersFor(batchOf([value]), [rejection(10, 0, value)]);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ recordIndex: 0, value });
  });
});
