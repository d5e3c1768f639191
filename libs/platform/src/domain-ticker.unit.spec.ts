import { DomainTicker } from './domain-ticker';

const logger = { warn: jest.fn(), debug: jest.fn(), info: jest.fn(), error: jest.fn() } as never;

describe('DomainTicker', () => {
  it('visits every domain once per pass, goes on past a failing one, then runs its housekeeping', async () => {
    const visited: string[] = [];
    let housekeeping = 0;
    const ticker = new DomainTicker(
      'test',
      async () => ['a', 'b', 'c'],
      async (d) => {
        visited.push(d);
        if (d === 'b') throw new Error('b fails');
        return d === 'c';
      },
      logger,
      async () => void housekeeping++,
    );
    await ticker.tick();
    expect(visited).toEqual(['a', 'b', 'c']);
    expect(housekeeping).toBe(1);
  });

  it('a tick while a pass runs joins it; after stop, nothing runs', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let passes = 0;
    const ticker = new DomainTicker(
      'test',
      async () => {
        passes++;
        await gate;
        return [];
      },
      async () => false,
      logger,
    );
    const first = ticker.tick();
    expect(ticker.tick()).toBe(first);
    release();
    await first;
    await ticker.stop();
    await ticker.tick();
    expect(passes).toBe(1);
  });
});
