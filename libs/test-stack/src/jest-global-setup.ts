import { shouldUseContainers, startContainers } from './containers';

/** Jest globalSetup: containers when Docker is there and no stack is named; else the env as given. */
export default async function globalSetup(): Promise<void> {
  if (!shouldUseContainers()) return;
  const stack = await startContainers();
  Object.assign(process.env, stack.env);
  (globalThis as { __SHARDCAST_CONTAINERS__?: typeof stack }).__SHARDCAST_CONTAINERS__ = stack;
}
