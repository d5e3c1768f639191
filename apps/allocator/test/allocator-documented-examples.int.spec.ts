import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';
import { AllocatorConfigSchema } from '../src/allocator.config';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../../..');
const DOC = readFileSync(resolve(ROOT, 'docs/allocator.md'), 'utf8');
const README = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
/** Where the docs say the allocator answers; the test's allocator binds a free port instead. */
const DOCUMENTED_BASE = 'http://127.0.0.1:3003';

/** Every ```sh block of the doc (an example a reader runs against a fresh allocator), continued lines joined. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1].replace(/\\\n\s*/g, '').trim());
}

/**
 * docs/allocator.md's examples, run in order against the allocator as the doc starts it
 * (`ALLOCATOR_API_KEYS=dev-key`, the default pools seed), and what the doc says each answers.
 */
describe('docs/allocator.md: every example runs and answers what the doc says', () => {
  const env = stackEnv();
  const schema = uniqueName('allocator_docs');
  let service: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    const start = DOC.match(/^(ALLOCATOR_API_KEYS=(\S+)) npm run start:allocator/m);
    expect(start).not.toBeNull();
    service = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), {
      ...env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: `${uniqueName('ald')}.`,
      KAFKA_GROUP_PREFIX: uniqueName('ald'),
      ALLOCATOR_DB_SCHEMA: schema,
      ALLOCATOR_API_KEYS: start![2],
    }).start();
    base = `http://127.0.0.1:${(await service.waitForMessage('allocator ready')).port}`;
  });

  afterAll(async () => {
    await service?.kill('SIGTERM');
    const db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('the pools examples: GET answers the seeded pool with what is committed, PUT replaces it', async () => {
    const blocks = shellBlocks(DOC);
    const outcomes: Array<(out: unknown) => void> = [
      (out) => expect(out).toMatchObject({ pool: { region: 'eu-central-1', capacity: { cpuCores: 512 } }, committed: { cpuCores: 0 } }),
      (out) => expect(out).toMatchObject({ pool: { region: 'eu-central-1', capacity: { cpuCores: 1024 }, provisioningDelaySeconds: 300, endpoints: { ipv4: ['192.0.2.18'] } } }),
    ];
    expect(blocks).toHaveLength(outcomes.length);
    for (const [i, block] of blocks.entries()) {
      expect(block).toContain(DOCUMENTED_BASE);
      const { stdout } = await promisify(execFile)('bash', ['-o', 'pipefail', '-c', block.replaceAll(DOCUMENTED_BASE, base)]);
      outcomes[i](JSON.parse(stdout));
    }
  });

  it('documents every ALLOCATOR_* variable the config reads, and no other', () => {
    const table = DOC.slice(DOC.indexOf('### Configuration'), DOC.indexOf('### Pools'));
    const documented = new Set([...table.matchAll(/`(ALLOCATOR_[A-Z_]+)`/g)].map((m) => m[1]));
    const read = Object.keys(AllocatorConfigSchema.shape).filter((k) => k.startsWith('ALLOCATOR_'));
    expect([...documented].sort()).toEqual(read.sort());
    // The README's configuration section names the main ones and links the rest.
    for (const name of ['ALLOCATOR_API_KEYS', 'ALLOCATOR_POOLS_FILE', 'ALLOCATOR_TICK_INTERVAL_MS', 'ALLOCATOR_POOL_DRIVER']) expect(README).toContain(`\`${name}\``);
    expect(README).toContain('docs/allocator.md#configuration');
  });
});
