/**
 * Re-reads a state until it satisfies `done`, for state that only a database or broker can tell
 * (there is no event to subscribe to). Fails with the last value seen.
 */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 120_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms; last value: ${JSON.stringify(last, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await read();
  }
  return last;
}
