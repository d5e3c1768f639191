import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** A minimal OTLP/HTTP receiver: records what the exporter posts, per path. */
export class OtlpReceiver {
  private readonly bodies: Array<{ path: string; body: Buffer }> = [];
  private waiters: Array<{ path: string; needle: string; resolve: () => void }> = [];
  readonly server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const entry = { path: req.url ?? '', body: Buffer.concat(chunks) };
      this.bodies.push(entry);
      this.waiters = this.waiters.filter((w) => (this.matches(entry, w) ? (w.resolve(), false) : true));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });

  private matches(entry: { path: string; body: Buffer }, w: { path: string; needle: string }): boolean {
    return entry.path === w.path && entry.body.includes(w.needle);
  }

  /** Resolves when a request to `path` whose body contains `needle` arrives (or has arrived). */
  received(path: string, needle: string): Promise<void> {
    if (this.bodies.some((b) => this.matches(b, { path, needle }))) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ path, needle, resolve }));
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}
