import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contractDocsDir, generateContractDocs } from '../scripts/generate-docs';
import { deadLetterTopic, Topics } from './topics';
import { DeadLetterHeaders, ErrorCodes } from './error-codes';
import { TelemetryMessageSchema } from './telemetry-request';
import { DomainRegisteredEventSchema } from './domain-registered';

const REGENERATE = 'run `npx tsx libs/contracts/scripts/generate-docs.ts` and commit docs/contracts';

describe('docs/contracts', () => {
  const docs = generateContractDocs();
  const dir = contractDocsDir();
  const readme = docs.find((d) => d.file === 'README.md')!.content;

  it('holds exactly the generated files, beside the hand-written hashing spec and its vectors', () => {
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual([...docs.map((d) => d.file), 'hashing.md', 'hashing-vectors.json'].sort());
  });

  it.each(generateContractDocs().map((d) => [d.file]))('%s matches what the schemas generate (else: regenerate)', (file) => {
    const expected = docs.find((d) => d.file === file)!.content;
    const actual = readFileSync(join(dir, file), 'utf8');
    if (actual !== expected) throw new Error(`docs/contracts/${file} is stale: ${REGENERATE}`);
    expect(actual).toBe(expected);
  });

  it('is deterministic (two generations are identical)', () => {
    expect(generateContractDocs()).toEqual(docs);
  });

  it('has one JSON Schema per public payload, each valid JSON with draft and title', () => {
    const schemas = docs.filter((d) => d.file.endsWith('.schema.json'));
    expect(schemas.map((d) => d.file).sort()).toEqual(
      [
        'capacity-plan-event.schema.json',
        'demand-forecast-event.schema.json',
        'demand-observed-event.schema.json',
        'demand-observed-v2-event.schema.json',
        'domain-registered-event.schema.json',
        'shard-assigned-event.schema.json',
        'shard-health-event.schema.json',
        'telemetry-message.schema.json',
        'telemetry-record.schema.json',
      ].sort(),
    );
    for (const d of schemas) {
      const schema = JSON.parse(d.content) as Record<string, unknown>;
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(typeof schema.title).toBe('string');
    }
    const event = JSON.parse(docs.find((d) => d.file === 'shard-assigned-event.schema.json')!.content);
    expect(event.properties.type).toEqual({ type: 'string', const: 'shard.assigned' });
    expect(event.required).toEqual(expect.arrayContaining(['eventId', 'type', 'occurredAt', 'producedBy', 'correlationId', 'causationId', 'payload']));
    const record = JSON.parse(docs.find((d) => d.file === 'telemetry-record.schema.json')!.content);
    expect(Object.keys(record.properties).sort()).toEqual(['bytes', 'client', 'domain', 'latencyMs', 'status', 'timestamp']);
    expect(record.additionalProperties).toBe(false); // an `ip` field is refused, not ignored
  });

  it('README names every topic, its DLQ twin, every DLQ header and every error code', () => {
    for (const topic of Object.values(Topics)) {
      expect(readme).toContain(`\`${topic}\``);
      expect(readme).toContain(`\`${deadLetterTopic(topic)}\``);
    }
    for (const header of Object.values(DeadLetterHeaders)) expect(readme).toContain(`\`${header}\``);
    for (const code of Object.values(ErrorCodes)) expect(readme).toMatch(new RegExp(`^\\| \`${code}\` \\| .+ \\|$`, 'm'));
    expect(readme).toMatch(/compacted/);
    expect(readme).toMatch(/IP addresses are never sent/);
  });

  it('README kcat produce examples: two valid telemetry messages, one the contract rejects, then a valid registration', () => {
    const produced = [...readme.matchAll(/^echo '([^|]+)\|(.+)' \\\n\s+\| kcat .* -t (\S+) /gm)];
    const schemaOf = (topic: string) => (topic === Topics.domainRegistered ? DomainRegisteredEventSchema : TelemetryMessageSchema);
    expect(produced.map(([, key, value, topic]) => [key, topic, schemaOf(topic).safeParse(JSON.parse(value)).success])).toEqual([
      ['app.example.com', Topics.telemetryRequests, true],
      ['app.example.com', Topics.telemetryRequests, true],
      ['app.example.com', Topics.telemetryRequests, false],
      ['app.example.com', Topics.domainRegistered, true],
    ]);
    expect(readme).toContain(`echo 'app.example.com|' | kcat -b 127.0.0.1:9092 -P -t ${Topics.domainRegistered} -K '|' -Z`);
    expect(readme).toContain(`kcat -b 127.0.0.1:9092 -C -t ${Topics.demandObserved} `);
    expect(readme).toContain(`kcat -b 127.0.0.1:9092 -C -t ${Topics.demandObservedV2} `);
    expect(readme).toContain(`kcat -b 127.0.0.1:9092 -C -t ${Topics.shardAssigned}`);
    expect(readme).toContain(`-t ${deadLetterTopic(Topics.telemetryRequests)} -o beginning -e -f '%h %s\\n'`);
  });
});
