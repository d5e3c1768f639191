import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { kcat } from '@shardcast/test-stack';

/**
 * A one-node Kafka (KRaft broker and controller) of one test's own: the shared broker of the local
 * stack must never be paused, this one may be. It runs the stack's Kafka 4.1.1 jars (the Maven
 * classpath deploy/local/stack.sh resolves) as a child process of the test, on free ports, with
 * its data in a temporary directory that stop() removes.
 */
export interface PrivateKafkaBroker {
  /** host:port */
  readonly address: string;
  readonly pid: number;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

const REPO = resolve(__dirname, '..', '..', '..');

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

export async function startPrivateKafkaBroker(startTimeoutMs = 90_000): Promise<PrivateKafkaBroker> {
  const classpathFile = execFileSync('bash', [join(REPO, 'deploy/local/stack.sh'), 'classpath'], { encoding: 'utf8' }).trim();
  const classpath = readFileSync(classpathFile, 'utf8').trim();
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'shardcast-private-kafka-'));
  const config = join(dir, 'server.properties');
  writeFileSync(
    config,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
      'controller.listener.names=CONTROLLER',
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'group.initial.rebalance.delay.ms=0',
    ].join('\n'),
  );
  const java = ['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', `-Dlog4j2.configurationFile=${join(REPO, 'deploy/local/kafka/log4j2-tools.properties')}`, '-cp', classpath];
  // A Kafka cluster id is 16 random bytes in URL-safe base64 (what StorageTool random-uuid prints),
  // never starting with '-' (as Kafka's own ids): the tool would read one as an option (1 run in 64).
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  execFileSync('java', [...java, 'kafka.tools.StorageTool', 'format', '--standalone', '--cluster-id', clusterId, '--config', config], { stdio: 'pipe' });
  const log = openSync(join(dir, 'kafka.out'), 'a');
  const child = spawn('java', [...java, 'kafka.Kafka', config], { stdio: ['ignore', log, log] });
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      if (!(await exited(child, 20_000))) {
        child.kill('SIGKILL');
        await exited(child, 10_000);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    try {
      await kcat(['-b', address, '-L', '-m', '3']);
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        const tail = readFileSync(join(dir, 'kafka.out'), 'utf8').slice(-2000);
        await stop();
        throw new Error(`private Kafka broker did not start on ${address}: ${(err as Error).message}\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return {
    address,
    pid: child.pid!,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop,
  };
}
