import { HttpException } from '@nestjs/common';
import { z } from 'zod';
import { ErrorCodes, normalizeDomain } from '@shardcast/contracts';
import { AppTypes, Tiers } from '@shardcast/forecasting';

export const ProfileRequestSchema = z
  .object({
    appType: z.enum(AppTypes),
    tier: z.enum(Tiers),
    cpuMs: z.number().positive().max(60_000).optional().describe('CPU time per request, ms (default per app type)'),
    memoryMbPerConcurrent: z.number().positive().max(65_536).optional(),
    bytesOut: z.number().nonnegative().max(1e10).optional(),
    latencyMs: z.number().positive().max(3_600_000).optional(),
  })
  .strict();

/** Parses a request part or answers 400 with a stable code and every issue, never a stack trace. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new HttpException(
    {
      code: ErrorCodes.REQUEST_INVALID,
      message: `invalid ${what}`,
      issues: result.error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`),
    },
    400,
  );
}

export function parseDomainParam(value: string): string {
  const checked = normalizeDomain(value);
  if (!checked.ok) throw new HttpException({ code: ErrorCodes.REQUEST_INVALID, message: `invalid domain: ${checked.reason}` }, 400);
  return checked.domain;
}
