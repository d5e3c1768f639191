import { resolve } from 'node:path';
import { ServiceProcess, stackEnv, uniqueName } from '@shardcast/test-stack';
import { Client } from 'pg';

jest.setTimeout(120_000);

const API_KEY = 'http-errors-key';

/** Every route of the OpenAPI document, with a concrete path (path parameters filled in). */
interface DocumentedRoute {
  method: string;
  path: string;
}

describe('forecaster HTTP errors: every answer carries a stable code', () => {
  const env = stackEnv();
  const schema = uniqueName('forecaster_http');
  let service: ServiceProcess;
  let base: string;
  let routes: DocumentedRoute[];

  beforeAll(async () => {
    service = new ServiceProcess(resolve(__dirname, '../dist/src/main.js'), {
      ...env,
      HTTP_PORT: '0',
      KAFKA_TOPIC_PREFIX: `${uniqueName('fh')}.`,
      KAFKA_GROUP_PREFIX: uniqueName('fhg'),
      FORECASTER_DB_SCHEMA: schema,
      FORECASTER_API_KEYS: API_KEY,
    }).start();
    base = `http://127.0.0.1:${(await service.waitForMessage('forecaster ready')).port}`;
    const document = (await (await fetch(`${base}/docs/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    routes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path: path.replace('{domain}', 'app.example.com') })),
    );
  });

  afterAll(async () => {
    await service?.kill('SIGTERM');
    const db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });

  it('documents the /v1 routes it serves', () => {
    const v1 = routes.filter((r) => r.path.startsWith('/v1/'));
    expect(v1.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      expect.arrayContaining(['GET /v1/accuracy', 'GET /v1/domains/app.example.com/forecasts', 'PUT /v1/domains/app.example.com/profile', 'POST /v1/domains/app.example.com/forecasts/refresh']),
    );
  });

  it('answers 401 UNAUTHORIZED on every /v1 route, read and write, without a key and with a wrong one', async () => {
    const v1 = routes.filter((r) => r.path.startsWith('/v1/'));
    for (const route of v1) {
      const keyHeaders: Array<Record<string, string>> = [{}, { 'x-api-key': 'wrong' }, { 'x-api-key': `${API_KEY}x` }];
      for (const headers of keyHeaders) {
        const response = await fetch(`${base}${route.path}`, { method: route.method, headers: { ...headers, 'content-type': 'application/json' }, body: route.method === 'GET' ? undefined : '{}' });
        expect({ route, status: response.status, body: await response.json() }).toMatchObject({ route, status: 401, body: { code: 'UNAUTHORIZED' } });
      }
    }
  });

  it('keeps /healthz and /readyz open', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('answers malformed JSON with 400 REQUEST_INVALID', async () => {
    const response = await fetch(`${base}/v1/domains/app.example.com/profile`, { method: 'PUT', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body: '{"appType":' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'REQUEST_INVALID', message: expect.any(String) });
  });

  it('answers an oversized body with 413 REQUEST_TOO_LARGE', async () => {
    const body = JSON.stringify({ appType: 'api', tier: 'pro', padding: 'x'.repeat(200_000) });
    const response = await fetch(`${base}/v1/domains/app.example.com/profile`, { method: 'PUT', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 'REQUEST_TOO_LARGE' });
  });

  it('answers an unknown route with 404 NOT_FOUND and a known route with the wrong method with 405 and Allow', async () => {
    const unknown = await fetch(`${base}/v1/nothing-here`, { headers: { 'x-api-key': API_KEY } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'NOT_FOUND' });

    const wrongMethod = await fetch(`${base}/v1/accuracy`, { method: 'DELETE', headers: { 'x-api-key': API_KEY } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    expect(await wrongMethod.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });

    const profileMethods = await fetch(`${base}/v1/domains/app.example.com/profile`, { method: 'POST', headers: { 'x-api-key': API_KEY } });
    expect(profileMethods.status).toBe(405);
    expect(profileMethods.headers.get('allow')).toBe('GET, PUT');
  });

  it('answers a bad domain in the path with 400 REQUEST_INVALID', async () => {
    const response = await fetch(`${base}/v1/domains/bad_domain!/forecasts`, { headers: { 'x-api-key': API_KEY } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'REQUEST_INVALID' });
  });
});
