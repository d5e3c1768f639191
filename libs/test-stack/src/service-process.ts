import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * A service run as a real process (so it can be SIGKILLed), with its JSON log lines observable.
 * Tests wait for log events, never for time.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  private killed = false;
  private readonly lines: Array<Record<string, unknown>> = [];
  private waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  readonly stderr: string[] = [];

  constructor(
    private readonly entry: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  start(): this {
    const child = spawn(process.execPath, [this.entry], { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text);
      } catch {
        line = { msg: text };
      }
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
    });
    createInterface({ input: child.stderr! }).on('line', (text) => this.stderr.push(text));
    return this;
  }

  /** Every JSON log line so far. */
  logLines(): ReadonlyArray<Record<string, unknown>> {
    return this.lines;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves with the first log line (past or future) matching; rejects if the process exits first. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${this.stderr.slice(-5).join('\n')}`)), timeoutMs);
      const onExit = (code: number | null) => reject(new Error(`process exited (${code}) before the log line; stderr: ${this.stderr.slice(-5).join('\n')}`));
      this.child?.once('exit', onExit);
      this.waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer);
          this.child?.off('exit', onExit);
          resolve(line);
        },
      });
    });
  }

  waitForMessage(msg: string, timeoutMs?: number): Promise<Record<string, unknown>> {
    return this.waitForLog((l) => l.msg === msg, timeoutMs);
  }

  /**
   * Sends `signal`; a process still alive after `graceMs` is SIGKILLed, so a stuck shutdown cannot
   * hang a suite. Killing a process that already exited by itself rejects: a test that meant to
   * kill a live service must not pass because the service had crashed. Killing twice is fine.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL', graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child) throw new Error(`${this.entry} was never started`);
    if (this.killed) return;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${this.entry} had already exited (${child.exitCode ?? child.signalCode}) before it was killed; stderr: ${this.stderr.slice(-5).join('\n')}`);
    }
    this.killed = true;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
