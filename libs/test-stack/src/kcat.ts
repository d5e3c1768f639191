import { spawn } from 'node:child_process';

/**
 * librdkafka settings every test and benchmark producer uses: idempotent, so a retried batch
 * keeps its place in the partition instead of landing behind later ones (records out of order in
 * event time would be counted as late).
 */
export const KCAT_PRODUCER_SETTINGS = ['-X', 'enable.idempotence=true'] as const;

/**
 * Runs kcat (the real producer/consumer CLI, librdkafka) and resolves with its stdout. As a
 * producer (`-P`) it is idempotent (KCAT_PRODUCER_SETTINGS).
 */
export function kcat(args: string[], input?: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args.includes('-P') ? [...args, ...KCAT_PRODUCER_SETTINGS] : args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString('utf8').slice(0, 2000)}`));
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}
