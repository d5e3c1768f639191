import { contractTopicSpecs, ShardAssigned, Topics } from '@shardcast/contracts';
import { createKafka, ensureTopics } from '@shardcast/platform';
import { stackEnv, uniqueName } from '@shardcast/test-stack';
import { ShardClient } from '../src';

jest.setTimeout(120_000);

const env = stackEnv();
const ring = { algorithm: 'bounded-rendezvous-table-xxh32' as const, seed: 0, tableBits: 16, loadBoundPermille: 50 };

function layout(domain: string, version: number, regions: string[]): ShardAssigned {
  return {
    domain,
    version,
    shards: regions.map((region, i) => ({ region, hostname: `${region}.${domain}`, state: 'active', weight: 100, endpoints: { ipv4: [`192.0.2.${i + 1}`], ipv6: [] } })),
    ring,
    movement: { fromVersion: version > 1 ? version - 1 : null, moved: 0, exact: true, flows: [] },
    pendingMovement: null,
    source: { planId: `plan-${version}`, planVersion: version },
  };
}

const event = (payload: ShardAssigned) =>
  JSON.stringify({ eventId: uniqueName('evt'), type: 'shard.assigned', occurredAt: new Date().toISOString(), producedBy: 'shard-client-test', correlationId: uniqueName('corr'), causationId: null, payload });

describe('ShardClient on the real broker: follows shard.assigned.v1', () => {
  const kafka = createKafka(env.KAFKA_BROKERS.split(','), 'shard-client-test');
  const prefix = `${uniqueName('shardclient')}.`;
  const topic = `${prefix}${Topics.shardAssigned}`;
  const producer = kafka.producer();
  const clients: ShardClient[] = [];

  beforeAll(async () => {
    await ensureTopics(kafka, contractTopicSpecs().filter((t) => t.name === Topics.shardAssigned), 3, prefix);
    await producer.connect();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await producer.disconnect();
  });

  it('catches up with the layouts already published, then follows new ones, ignores older versions and bad messages, and drops tombstoned domains', async () => {
    await producer.send({
      topic,
      messages: [
        { key: 'a.example.com', value: event(layout('a.example.com', 1, ['eu-west-1'])) },
        { key: 'a.example.com', value: event(layout('a.example.com', 2, ['us-east-1'])) },
        { key: 'b.example.com', value: event(layout('b.example.com', 1, ['ap-south-1', 'eu-west-1'])) },
      ],
    });
    const invalid: string[] = [];
    // Awaited through the client's own change events: c applied and b removed.
    let cApplied = false;
    let bRemoved = false;
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const onChange = (domain: string, held: ShardAssigned | null) => {
      if (domain === 'c.example.com' && held) cApplied = true;
      if (domain === 'b.example.com' && held === null) bRemoved = true;
      if (cApplied && bRemoved) settle();
    };
    const client = await ShardClient.start({ kafka, topic, onInvalid: (domain) => invalid.push(domain), onChange });
    clients.push(client);
    await client.ready;
    expect(client.shardFor('a.example.com', 'user-1')).toMatchObject({ region: 'us-east-1', hostname: 'us-east-1.a.example.com' });
    expect(['ap-south-1', 'eu-west-1']).toContain(client.shardFor('b.example.com', 'user-1')!.region);

    await producer.send({
      topic,
      messages: [
        { key: 'a.example.com', value: event(layout('a.example.com', 1, ['eu-west-1'])) }, // older: ignored
        { key: 'b.example.com', value: 'not json' },
        { key: 'b.example.com', value: event(layout('a.example.com', 9, ['eu-west-1'])) }, // under another domain's key
        { key: 'c.example.com', value: event(layout('c.example.com', 1, ['sa-east-1'])) },
        { key: 'b.example.com', value: null }, // deregistered
      ],
    });
    await settled;
    expect(client.shardFor('c.example.com', 'k')!.region).toBe('sa-east-1');
    expect(client.shardFor('a.example.com', 'user-1')!.region).toBe('us-east-1');
    expect(client.shardFor('b.example.com', 'user-1')).toBeNull();
    expect(invalid.sort()).toEqual(['b.example.com', 'b.example.com']);
  });

  it('a client started on an empty topic is ready at once', async () => {
    const emptyPrefix = `${uniqueName('shardclient-empty')}.`;
    await ensureTopics(kafka, contractTopicSpecs().filter((t) => t.name === Topics.shardAssigned), 1, emptyPrefix);
    const client = await ShardClient.start({ kafka, topic: `${emptyPrefix}${Topics.shardAssigned}` });
    clients.push(client);
    await client.ready;
    expect(client.directory.size).toBe(0);
  });
});
