import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import { ErrorCode, ErrorCodes } from '@shardcast/contracts';
import type { Logger } from './logger';

/** The body of every HTTP error a shardcast service answers: a stable code, a sentence, maybe details. */
export interface HttpErrorBody {
  code: ErrorCode;
  message: string;
  [detail: string]: unknown;
}

/** The methods a path is routed for (empty: no route at all); used to tell 405 from 404. */
export type RouteMethods = (path: string) => string[];

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCodes.REQUEST_INVALID,
  401: ErrorCodes.UNAUTHORIZED,
  404: ErrorCodes.NOT_FOUND,
  405: ErrorCodes.METHOD_NOT_ALLOWED,
  413: ErrorCodes.REQUEST_TOO_LARGE,
  415: ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
  503: ErrorCodes.NOT_READY,
};

/** body-parser's errors carry `type` and `status`; Nest maps only its SyntaxError to a 400. */
interface BodyParserError {
  type: string;
  status: number;
  message: string;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && typeof (err as BodyParserError).type === 'string' && typeof (err as BodyParserError).status === 'number';
}

/**
 * Every error a route (or Nest's router, or the body parser in front of it) throws becomes
 * `{code, message, …}` with the right status. A user never sees a stack trace or an HTML page, and
 * can branch on `code`; an unexpected error is a 500 INTERNAL_ERROR whose details go to the log only.
 */
export function httpErrorAnswer(err: unknown, method: string, path: string, routeMethods: RouteMethods): { status: number; body: HttpErrorBody; headers?: Record<string, string> } {
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const response = err.getResponse();
    if (status === 404 && isRouterNotFound(response)) {
      const allowed = routeMethods(path);
      if (allowed.length > 0) {
        return { status: 405, body: { code: ErrorCodes.METHOD_NOT_ALLOWED, message: `${method} is not allowed on ${path}; use ${allowed.join(', ')}` }, headers: { allow: allowed.join(', ') } };
      }
      return { status: 404, body: { code: ErrorCodes.NOT_FOUND, message: `no route ${method} ${path}` } };
    }
    if (typeof response === 'object' && response !== null && typeof (response as HttpErrorBody).code === 'string') {
      const body = response as HttpErrorBody;
      return { status, body: { ...body, message: typeof body.message === 'string' ? body.message : err.message } };
    }
    const body = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
    const message = typeof body.message === 'string' ? body.message : Array.isArray(body.message) ? body.message.join('; ') : err.message;
    const { statusCode: _statusCode, error: _error, message: _message, ...details } = body;
    return { status, body: { ...details, code: codeFor(status), message } };
  }
  if (isBodyParserError(err) && err.status >= 400 && err.status < 500) {
    const message = err.type === 'entity.too.large' ? 'request body too large' : `unreadable request body: ${err.message}`;
    return { status: err.status, body: { code: codeFor(err.status), message } };
  }
  return { status: 500, body: { code: ErrorCodes.INTERNAL_ERROR, message: 'internal error' } };
}

function codeFor(status: number): ErrorCode {
  return CODE_BY_STATUS[status] ?? (status >= 500 ? ErrorCodes.INTERNAL_ERROR : ErrorCodes.REQUEST_INVALID);
}

/** Nest's router answers an unrouted request with this NotFoundException message. */
function isRouterNotFound(response: unknown): boolean {
  const message = typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : response;
  return typeof message === 'string' && /^Cannot [A-Z]+ /.test(message);
}

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    private readonly routeMethods: RouteMethods,
  ) {}

  catch(err: unknown, host: ArgumentsHost): void {
    // Kafka handlers have their own failure handling; only HTTP is answered here.
    if (host.getType() !== 'http') throw err;
    const http = host.switchToHttp();
    const request = http.getRequest<{ method: string; path?: string; url: string }>();
    const reply = http.getResponse<{ headersSent: boolean; status(code: number): { json(body: unknown): void }; setHeader(name: string, value: string): void }>();
    const path = request.path ?? request.url.split('?')[0];
    const answer = httpErrorAnswer(err, request.method, path, this.routeMethods);
    if (answer.status >= 500 && answer.body.code === ErrorCodes.INTERNAL_ERROR) this.logger.error({ err, method: request.method, path }, 'request failed');
    if (reply.headersSent) return;
    for (const [name, value] of Object.entries(answer.headers ?? {})) reply.setHeader(name, value);
    reply.status(answer.status).json(answer.body);
  }
}
