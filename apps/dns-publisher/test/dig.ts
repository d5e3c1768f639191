import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** The answer section of `dig` against a local server: `+short` values, sorted. */
export async function dig(port: number | string, name: string, type: string, subnet?: string): Promise<string[]> {
  const args = ['@127.0.0.1', '-p', String(port), name, type, '+short', '+time=2', '+tries=2'];
  if (subnet) args.push(`+subnet=${subnet}`);
  const { stdout } = await promisify(execFile)('dig', args);
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}
