import { spawn } from 'node:child_process';

/** Runs kcat (the real producer/consumer CLI, librdkafka) and resolves with its stdout. */
export function kcat(args: string[], input?: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
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
