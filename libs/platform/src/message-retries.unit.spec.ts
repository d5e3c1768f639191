import { ClassifiedFailure } from './failure-classification';
import { MessagePosition, MessageRetries, RetryObserver, RetryPolicy } from './message-retries';

const policy: RetryPolicy = { maxAttempts: 3, backoffMs: (n) => n * 10, stuckAfter: 3 };
const at = (offset: string): MessagePosition => ({ topic: 't', partition: 0, offset });
const unprocessable = () => Object.assign(new Error('invalid byte sequence'), { code: '22021' });
const transient = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

function recorder() {
  const events: string[] = [];
  const observer: RetryObserver = {
    failed: (p: MessagePosition, f: ClassifiedFailure, n: number) => events.push(`failed ${p.offset} ${f.kind} ${n}`),
    stuck: (p: MessagePosition, _f: ClassifiedFailure, n: number) => events.push(`stuck ${p.offset} ${n}`),
    recovered: (p: MessagePosition, n: number) => events.push(`recovered ${p.offset} ${n}`),
  };
  const sleeps: number[] = [];
  return { events, sleeps, retries: new MessageRetries(observer, policy, async (ms) => void sleeps.push(ms)) };
}

describe('MessageRetries', () => {
  it('runs a message once when it succeeds', async () => {
    const { events, retries } = recorder();
    expect(await retries.run(at('1'), async () => undefined)).toEqual({ outcome: 'done' });
    expect(events).toEqual([]);
  });

  it('gives an unprocessable message up after maxAttempts, with back-off between', async () => {
    const { events, sleeps, retries } = recorder();
    let calls = 0;
    const result = await retries.run(at('7'), async () => {
      calls++;
      throw unprocessable();
    });
    expect(result).toMatchObject({ outcome: 'unprocessable', attempts: 3, failure: { kind: 'unprocessable', reason: '22021: invalid byte sequence' } });
    expect(calls).toBe(3);
    expect(sleeps).toEqual([10, 20]);
    expect(events).toEqual(['failed 7 unprocessable 1', 'failed 7 unprocessable 2', 'failed 7 unprocessable 3', 'stuck 7 3']);
    expect(retries.failing()).toEqual([]);
  });

  it('recovers when a failure passes', async () => {
    const { events, retries } = recorder();
    let calls = 0;
    const result = await retries.run(at('3'), async () => {
      if (++calls < 2) throw unprocessable();
    });
    expect(result).toEqual({ outcome: 'done' });
    expect(events).toEqual(['failed 3 unprocessable 1', 'recovered 3 2']);
  });

  it('never gives up on a transient failure: hands it back for redelivery, counting on across redeliveries', async () => {
    const { events, retries } = recorder();
    const failing = async () => {
      throw transient();
    };
    await expect(retries.run(at('5'), failing)).rejects.toThrow('ECONNREFUSED');
    expect(retries.failing()).toEqual([{ topic: 't', partition: 0, offset: '5', attempts: 3, reason: 'ECONNREFUSED: connect ECONNREFUSED' }]);
    expect(retries.stuckCount()).toBe(1);
    // The transport redelivers the same offset: attempts go on from 3.
    await expect(retries.run(at('5'), failing)).rejects.toThrow('ECONNREFUSED');
    expect(retries.failing()[0].attempts).toBe(6);
    expect(await retries.run(at('5'), async () => undefined)).toEqual({ outcome: 'done' });
    expect(events.filter((e) => e.startsWith('stuck') || e.startsWith('recovered'))).toEqual(['stuck 5 3', 'recovered 5 7']);
    expect(retries.failing()).toEqual([]);
    expect(retries.stuckCount()).toBe(0);
  });

  it('counts a new offset of the partition afresh', async () => {
    const { retries } = recorder();
    await expect(retries.run(at('5'), async () => Promise.reject(transient()))).rejects.toThrow();
    await retries.run(at('6'), async () => undefined);
    expect(retries.failing()).toEqual([]);
  });

  it('leaves out failures older than the recent window (the partition may have moved)', async () => {
    const { retries } = recorder();
    await expect(retries.run(at('5'), async () => Promise.reject(transient()))).rejects.toThrow();
    expect(retries.failing(Date.now() + 61_000)).toEqual([]);
  });
});
