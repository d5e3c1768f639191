import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { httpErrorAnswer } from './http-error-filter';

const noRoutes = () => [];

describe('httpErrorAnswer', () => {
  it('keeps a route error that already carries a code', () => {
    const err = new HttpException({ code: 'REQUEST_INVALID', message: 'invalid profile', issues: ['tier: bad'] }, 400);
    expect(httpErrorAnswer(err, 'PUT', '/v1/x', noRoutes)).toEqual({ status: 400, body: { code: 'REQUEST_INVALID', message: 'invalid profile', issues: ['tier: bad'] } });
  });

  it("gives Nest's own exceptions a code by status, without Nest's statusCode/error fields", () => {
    expect(httpErrorAnswer(new BadRequestException('Unexpected end of JSON input'), 'PUT', '/v1/x', noRoutes)).toEqual({
      status: 400,
      body: { code: 'REQUEST_INVALID', message: 'Unexpected end of JSON input' },
    });
  });

  it('tells an unrouted path (404) from a routed path asked with another method (405)', () => {
    const routes = (path: string) => (path === '/v1/accuracy' ? ['GET'] : []);
    expect(httpErrorAnswer(new NotFoundException('Cannot GET /v1/none'), 'GET', '/v1/none', routes)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(httpErrorAnswer(new NotFoundException('Cannot DELETE /v1/accuracy'), 'DELETE', '/v1/accuracy', routes)).toMatchObject({
      status: 405,
      body: { code: 'METHOD_NOT_ALLOWED' },
      headers: { allow: 'GET' },
    });
  });

  it('keeps a 404 a route threw on purpose', () => {
    const err = new HttpException({ code: 'NOT_FOUND', message: 'no forecast for a.example yet' }, 404);
    expect(httpErrorAnswer(err, 'GET', '/v1/accuracy', () => ['GET'])).toMatchObject({ status: 404, body: { code: 'NOT_FOUND', message: 'no forecast for a.example yet' } });
  });

  it("maps body-parser's errors by status", () => {
    const tooLarge = Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413 });
    expect(httpErrorAnswer(tooLarge, 'PUT', '/v1/x', noRoutes)).toEqual({ status: 413, body: { code: 'REQUEST_TOO_LARGE', message: 'request body too large' } });
    const charset = Object.assign(new Error('unsupported charset "X"'), { type: 'charset.unsupported', status: 415 });
    expect(httpErrorAnswer(charset, 'PUT', '/v1/x', noRoutes)).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });

  it('answers anything else with 500 INTERNAL_ERROR and no details', () => {
    expect(httpErrorAnswer(new Error('relation "x" does not exist at /srv/app.js:1'), 'GET', '/v1/x', noRoutes)).toEqual({ status: 500, body: { code: 'INTERNAL_ERROR', message: 'internal error' } });
  });
});
