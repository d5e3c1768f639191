import { CanActivate, ExecutionContext, HttpException, Inject, Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { ErrorCodes } from '@shardcast/contracts';

export const API_KEYS = Symbol('API_KEYS');

/** A service's API keys, and the variable they come from (named when none is set). */
export interface ApiKeys {
  keys: string[];
  variable: string;
}

/** Accepts a request whose `x-api-key` header is one of the configured keys (compared in constant time). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(API_KEYS) private readonly apiKeys: ApiKeys) {}

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers['x-api-key'] ?? '';
    const given = Buffer.from(header);
    const ok = this.apiKeys.keys.some((key) => {
      const expected = Buffer.from(key);
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (!ok) {
      const message = this.apiKeys.keys.length === 0 ? `the API is disabled: set ${this.apiKeys.variable}` : 'missing or unknown x-api-key header';
      throw new HttpException({ code: ErrorCodes.UNAUTHORIZED, message }, 401);
    }
    return true;
  }
}
