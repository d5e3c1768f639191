import { Reachability } from './reachability';

describe('Reachability', () => {
  it('counts from the last failed probe, and from the start before any', async () => {
    let now = 1_000;
    let up = true;
    const r = new Reachability(async () => {
      if (!up) throw new Error('ECONNREFUSED');
    }, 5_000, () => now);
    now = 5_000;
    expect(await r.check()).toBe(true);
    expect(r.reachableForMs()).toBe(4_000);
    up = false;
    now = 6_000;
    expect(await r.check()).toBe(false);
    up = true;
    now = 9_000;
    expect(await r.check()).toBe(true);
    expect(r.reachableForMs()).toBe(3_000);
  });

  it('no second probe beside a running one; one running for the timeout is a failure', async () => {
    let now = 0;
    let probes = 0;
    let answer: () => void = () => undefined;
    const r = new Reachability(() => {
      probes++;
      return new Promise<void>((resolve) => (answer = resolve));
    }, 5_000, () => now);
    const first = r.check();
    now = 1_000;
    expect(await r.check()).toBe(false); // still running: not yet a failure
    expect(r.reachableForMs()).toBe(1_000);
    now = 6_000;
    expect(await r.check()).toBe(false);
    expect(probes).toBe(1);
    expect(r.reachableForMs()).toBe(0);
    answer();
    expect(await first).toBe(true);
    now = 8_000;
    expect(r.reachableForMs()).toBe(2_000);
  });
});
