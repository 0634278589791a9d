import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack.js';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP exchange with nothing in between (fetch would add Accept-Encoding and decode the answer). */
function exchange(
  url: string,
  { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string },
) {
  return new Promise<RawResponse>((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const decoded = (response: RawResponse) => {
  const coding = response.headers['content-encoding'];
  const bytes = coding === 'br' ? brotliDecompressSync(response.body) : coding === 'gzip' ? gunzipSync(response.body) : response.body;
  return JSON.parse(bytes.toString('utf8'));
};

const vary = (response: RawResponse) =>
  String(response.headers.vary ?? '')
    .toLowerCase()
    .split(/\s*,\s*/);

let stack: TestStack;
let token: string;
/** Several name searches: an answer of some kilobytes, as a portal's list views get. */
const SEARCH = `{ ${['a', 'e', 'i', 'o', 'n']
  .map(
    (term) =>
      `${term}: searchPatients(name: "${term}", first: 20) { edges { cursor node { id mrn name { text } birthDate sex phone email } } }`,
  )
  .join(' ')} }`;

beforeAll(async () => {
  stack = await startTestStack();
  token = await stack.token({ role: 'SCHEDULER', sub: 'staff-scheduler-1' });
});
afterAll(async () => {
  await stack?.close();
});

const post = (query: string, headers: Record<string, string> = {}) =>
  exchange(stack.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify({ query }),
  });

const preflight = (origin: string, headers: Record<string, string> = {}) =>
  exchange(stack.gatewayUrl, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
      ...headers,
    },
  });

describe('CORS', () => {
  it('answers a preflight from a page on this machine before authentication', async () => {
    const answer = await preflight('http://localhost:5173');
    expect(answer.status).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(answer.headers['access-control-allow-methods']).toContain('POST');
    expect(answer.headers['access-control-allow-headers']).toBe('authorization, content-type');
    expect(answer.headers['access-control-max-age']).toBe('600');
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    expect(vary(answer)).toContain('origin');
    expect(answer.headers['x-request-id']).toBeTruthy();
  });

  it("answers Apollo Studio's Sandbox in development, with the headers it asks for", async () => {
    const answer = await preflight('https://studio.apollographql.com', {
      'access-control-request-headers': 'apollographql-client-name, authorization, content-type',
    });
    expect(answer.status).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe('https://studio.apollographql.com');
    expect(answer.headers['access-control-allow-headers']).toBe('apollographql-client-name, authorization, content-type');
  });

  it('refuses a preflight from any other origin with a coded error and no allow header', async () => {
    for (const origin of [
      'https://evil.example',
      'http://localhost.evil.example',
      'https://studio.apollographql.com.evil.example',
      'null',
    ]) {
      const answer = await preflight(origin);
      expect(answer.status).toBe(403);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      expect(decoded(answer).errors[0].extensions.code).toBe('ORIGIN_NOT_ALLOWED');
    }
  });

  it('lets an allowed page read answers, refusals included, and the request id', async () => {
    const ok = await post('{ provider(id: "prv-0001") { id } }', { origin: 'http://127.0.0.1:8080' });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('http://127.0.0.1:8080');
    expect(ok.headers['access-control-expose-headers']).toContain('x-request-id');
    const refused = await exchange(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:3000' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(refused.status).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(refused.headers['access-control-expose-headers']).toContain('www-authenticate');
  });

  it('gives an origin not on the list no allow header on an answer', async () => {
    const answer = await post('{ provider(id: "prv-0001") { id } }', { origin: 'https://evil.example' });
    expect(answer.status).toBe(200); // the browser, not the gateway, withholds it from the page
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(vary(answer)).toContain('origin');
  });

  it('follows CORS_ORIGINS and, with CORS_CREDENTIALS, echoes the exact origin with credentials allowed', async () => {
    const portal = await startTestStack({ env: { CORS_ORIGINS: 'https://portal.example.org', CORS_CREDENTIALS: 'on' } });
    try {
      const allowed = await exchange(portal.gatewayUrl, {
        method: 'OPTIONS',
        headers: { origin: 'https://portal.example.org', 'access-control-request-method': 'POST' },
      });
      expect(allowed.status).toBe(204);
      expect(allowed.headers['access-control-allow-origin']).toBe('https://portal.example.org');
      expect(allowed.headers['access-control-allow-credentials']).toBe('true');
      const local = await exchange(portal.gatewayUrl, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
      });
      expect(local.status).toBe(403);
    } finally {
      await portal.close();
    }
  });
});

describe('compression', () => {
  it('answers with brotli or gzip as Accept-Encoding asks, and the body decodes to the same answer', async () => {
    const plain = await post(SEARCH);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(vary(plain)).toContain('accept-encoding');
    const answer = decoded(plain);
    expect(answer.errors).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(4096);

    const br = await post(SEARCH, { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
    expect(br.body.length).toBeLessThan(plain.body.length / 3);
    expect(decoded(br)).toEqual(answer);

    const gzip = await post(SEARCH, { 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(decoded(gzip)).toEqual(answer);

    const refusedBr = await post(SEARCH, { 'accept-encoding': 'br;q=0, gzip;q=0.5' });
    expect(refusedBr.headers['content-encoding']).toBe('gzip');
    const none = await post(SEARCH, { 'accept-encoding': 'identity, *;q=0' });
    expect(none.headers['content-encoding']).toBeUndefined();
  });

  it('leaves small answers as they are', async () => {
    const small = await post('{ provider(id: "prv-0001") { id } }', { 'accept-encoding': 'br, gzip' });
    expect(small.body.length).toBeLessThan(1024);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(decoded(small).data.provider.id).toBe('prv-0001');
  });
});

describe('headers on every answer', () => {
  it('names the request on refusals, unknown paths and probes, and challenges a 401', async () => {
    const unauthenticated = await exchange(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers['www-authenticate']).toBe('Bearer');
    const persisted = await exchange(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 2, sha256Hash: 'a'.repeat(64) } } }),
    });
    expect(persisted.status).toBe(400);
    expect(decoded(persisted).errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
    const origin = new URL(stack.gatewayUrl).origin;
    const missing = await exchange(`${origin}/nowhere`, {});
    expect(missing.status).toBe(404);
    expect(decoded(missing).errors[0].extensions.code).toBe('NOT_FOUND');
    const health = await exchange(`${origin}/health`, {});
    expect(health.status).toBe(200);
    for (const answer of [unauthenticated, persisted, missing, health]) expect(answer.headers['x-request-id']).toMatch(/^[\w-]{8,}$/);
  });
});
