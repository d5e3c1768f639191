import { Controller, Get, HttpException, Injectable } from '@nestjs/common';
import { ErrorCodes } from '@shardcast/contracts';

export type ReadinessCheck = () => Promise<void>;

/** Services register what must work before they take traffic (database, broker, cache). */
@Injectable()
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  async run(timeoutMs = 2_000): Promise<Record<string, string>> {
    const results: Record<string, string> = {};
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), timeoutMs)))]);
          results[name] = 'ok';
        } catch (err) {
          results[name] = err instanceof Error ? err.message : String(err);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return results;
  }
}

@Controller()
export class HealthController {
  constructor(private readonly readiness: ReadinessRegistry) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every registered dependency answers. */
  @Get('readyz')
  async readyz(): Promise<{ status: 'ready'; checks: Record<string, string> }> {
    const checks = await this.readiness.run();
    if (Object.values(checks).some((v) => v !== 'ok')) throw new HttpException({ code: ErrorCodes.NOT_READY, message: 'not ready', status: 'not ready', checks }, 503);
    return { status: 'ready', checks };
  }
}
