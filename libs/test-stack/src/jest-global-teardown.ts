export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __SHARDCAST_CONTAINERS__?: { stop(): Promise<void> } }).__SHARDCAST_CONTAINERS__?.stop();
}
