import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEEDED } from '@healthgraph/db';
import { createGateway } from '@healthgraph/gateway';
import { readSupergraph } from '@healthgraph/gateway/compose';
import type { Listening } from '@healthgraph/platform';
import type { StackConfig } from '@healthgraph/stack';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from './helpers/database.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
const gateways: Listening[] = [];
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await stack?.close();
});

/** Another gateway over the same subgraphs, with some of its configuration changed. */
async function gatewayWith(change: (config: StackConfig) => StackConfig, supergraphSdl?: string): Promise<string> {
  const listening = await createGateway({
    config: change(stack.config),
    subgraphUrls: stack.subgraphUrls,
    supergraphSdl,
    audit: stack.audit,
  }).listen(0);
  gateways.push(listening);
  return `${listening.url}/graphql`;
}

const clinician = { role: 'CLINICIAN' as const, sub: SEEDED.clinician };
type Caller = Parameters<TestStack['token']>[0];

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function post(url: string, caller: Caller | null, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const authorization: Record<string, string> = caller ? { authorization: `Bearer ${await stack.token(caller)}` } : {};
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authorization, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}
const codeOf = (answer: { body: { errors?: { extensions?: { code?: string } }[] } }) => answer.body.errors?.[0]?.extensions?.code;
/** The first error code of each operation of a batched answer. */
const batchCodes = (answer: Answer) => (answer.body as Answer['body'][]).map((body) => codeOf({ body }));

/** 1 + 100 x (edge 1 + node 1 + notes 5 + 100 x (edge 1 + node 1)) = 20,701: over every budget. */
const BIG = 'myPatients(first: 100) { edges { node { notes(first: 100) { edges { node { text } } } } } }';
/** myPatients 1 + 100 edges x (edge 1 + node 1 + name 1 + 10 allergies x (1 + code 1)) = 2,301. */
const PANEL = '{ myPatients(first: 100) { edges { node { name { text } allergies { code { display } } } } } }';

describe('demand control cannot be talked down', () => {
  it('prices each operation of a document on its own: naming a cheap one first does not let a big one run at its price', async () => {
    const query = `query Cheap { provider(id: "${SEEDED.clinician}") { id } } query Big { ${BIG} }`;
    const cheap = await post(stack.gatewayUrl, clinician, { query, operationName: 'Cheap', extensions: { cost: true } });
    expect(cheap.status).toBe(200);
    expect(cheap.body.extensions.cost.estimated).toBe(1);
    const { result: big, statements } = await countStatements(stack.db, () =>
      post(stack.gatewayUrl, clinician, { query, operationName: 'Big' }),
    );
    expect(big.status).toBe(400);
    expect(big.body.errors[0].extensions).toMatchObject({
      code: 'COST_ESTIMATED_TOO_EXPENSIVE',
      cost: { estimated: 20_701, budget: 5_000 },
    });
    expect(statements).toEqual([]);
  });

  it("prices a slicing variable left out by its default value, and one given as null by the field's assumed size", async () => {
    const query = `query Page($n: Int = 100) { myPatients(first: $n) { edges { node { notes(first: 100) { edges { node { text } } } } } } }`;
    const { result: absent, statements } = await countStatements(stack.db, () => post(stack.gatewayUrl, clinician, { query }));
    expect(absent.status).toBe(400);
    expect(absent.body.errors[0].extensions).toMatchObject({ code: 'COST_ESTIMATED_TOO_EXPENSIVE', cost: { estimated: 20_701 } });
    expect(statements).toEqual([]);
    // An explicit null asks for the field's default page: the assumed size, 20 x (1 + 1 + 5 + 100 x 2) + 1.
    const nulled = await post(stack.gatewayUrl, clinician, { query, variables: { n: null }, extensions: { cost: true } });
    expect(nulled.status).toBe(200);
    expect(nulled.body.extensions.cost.estimated).toBe(4_141);
    const given = await post(stack.gatewayUrl, clinician, { query, variables: { n: 2 }, extensions: { cost: true } });
    expect(given.body.extensions.cost.estimated).toBe(1 + 2 * 207);
    // And the default again, after the cache has seen null and 2.
    expect(codeOf(await post(stack.gatewayUrl, clinician, { query }))).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
  });

  it('refuses a list field whose @listSize requires one slicing argument when none is given, before any subgraph is called', async () => {
    const strict = readSupergraph().replace(/(searchProviders\(.*?)requireOneSlicingArgument: false/, '$1requireOneSlicingArgument: true');
    expect(strict).not.toBe(readSupergraph());
    const uri = await gatewayWith((config) => config, strict);
    const { result: unsliced, statements } = await countStatements(stack.db, () =>
      post(uri, clinician, { query: '{ searchProviders(name: "a") { edges { node { id } } } }' }),
    );
    expect(unsliced.status).toBe(400);
    expect(codeOf(unsliced)).toBe('BAD_USER_INPUT');
    expect(unsliced.body.errors[0].message).toContain('Query.searchProviders');
    expect(unsliced.body.errors[0].message).toContain('first');
    expect(statements).toEqual([]);
    const byVariable = 'query($n: Int) { searchProviders(name: "a", first: $n) { edges { node { id } } } }';
    expect(codeOf(await post(uri, clinician, { query: byVariable }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await post(uri, clinician, { query: byVariable, variables: { n: null } }))).toBe('BAD_USER_INPUT');
    const sliced = await post(uri, clinician, { query: byVariable, variables: { n: 2 } });
    expect(sliced.status).toBe(200);
    expect(sliced.body.data.searchProviders.edges).toHaveLength(2);
    const byDefault = await post(uri, clinician, {
      query: 'query($n: Int = 1) { searchProviders(name: "a", first: $n) { edges { node { id } } } }',
    });
    expect(byDefault.body.data.searchProviders.edges).toHaveLength(1);
    // The committed supergraph asks no field for a slicing argument: every list there has a bounded default page.
    expect(readSupergraph()).not.toContain('requireOneSlicingArgument: true');
  });

  it("holds a batched request's operations together to the role's budget", async () => {
    const uri = await gatewayWith((config) => ({ ...config, limits: { ...config.limits, maxBatch: 3 } }));
    const two = await post(uri, clinician, [{ query: PANEL }, { query: PANEL }]);
    expect(two.status).toBe(200);
    expect(batchCodes(two)).toEqual([undefined, undefined]);
    // Three panels: 6,903 together, over the clinician's 5,000 although each one (2,301) fits.
    const three = await post(uri, clinician, [{ query: PANEL }, { query: PANEL }, { query: PANEL }]);
    const refused = (three.body as Answer['body'][]).filter((answer) => codeOf({ body: answer }) === 'COST_ESTIMATED_TOO_EXPENSIVE');
    expect(refused).toHaveLength(1);
    expect(refused[0].data ?? null).toBeNull();
    expect(refused[0].errors[0].extensions.cost).toMatchObject({ estimated: 2_301, budget: 5_000, requestTotal: 6_903 });
    expect((three.body as Answer['body'][]).filter((answer) => answer.data?.myPatients)).toHaveLength(2);
    // The next request has its own budget.
    expect(batchCodes(await post(uri, clinician, [{ query: PANEL }, { query: PANEL }]))).toEqual([undefined, undefined]);
  });
});

const ME = '{ me { id } }';
const secret = () => new TextEncoder().encode(stack.config.jwt.secret);
const now = () => Math.floor(Date.now() / 1000);
function sign(claims: Record<string, unknown>, { iat, exp }: { iat: number; exp: number }) {
  return new SignJWT({ role: 'PATIENT', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(typeof claims.sub === 'string' ? claims.sub : SEEDED.patient)
    .setIssuer(stack.config.jwt.issuer)
    .setAudience(stack.config.jwt.audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(secret());
}
const breakGlass = { role: 'CLINICIAN', sub: SEEDED.clinician, purpose: 'BTG', reason: 'Unconscious in the ED' };
const YEAR = 365 * 86_400;

async function refusedToken(authorization: string) {
  const answer = await post(stack.gatewayUrl, null, { query: ME }, { authorization });
  expect(answer.status).toBe(401);
  expect(codeOf(answer)).toBe('UNAUTHENTICATED');
  expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  return answer;
}

describe('client tokens are measured from now, and read exactly', () => {
  it('refuses a break-glass token issued a year ahead that claims to live 15 minutes', async () => {
    const token = await sign(breakGlass, { iat: now() + YEAR, exp: now() + YEAR + 900 });
    await refusedToken(`Bearer ${token}`);
  });

  it('refuses any token issued more than a minute ahead, and accepts one within the clock skew', async () => {
    await refusedToken(`Bearer ${await sign({}, { iat: now() + 3600, exp: now() + 3600 + 600 })}`);
    await refusedToken(`Bearer ${await sign({}, { iat: now() + 120, exp: now() + 600 })}`);
    const skewed = await post(
      stack.gatewayUrl,
      null,
      { query: ME },
      { authorization: `Bearer ${await sign({}, { iat: now() + 30, exp: now() + 600 })}` },
    );
    expect(skewed.status).toBe(200);
    expect(skewed.body.data.me.id).toBe(SEEDED.patient);
  });

  it('refuses an expiry too far from now, whatever iat says', async () => {
    await refusedToken(`Bearer ${await sign({}, { iat: now() - 3600, exp: now() + 13 * 3600 })}`);
    await refusedToken(`Bearer ${await sign(breakGlass, { iat: now() - 60, exp: now() + 3600 })}`);
    // Issued ten hours ago for eleven: one hour left, within every limit.
    const old = await post(
      stack.gatewayUrl,
      null,
      { query: ME },
      { authorization: `Bearer ${await sign({}, { iat: now() - 10 * 3600, exp: now() + 3600 })}` },
    );
    expect(old.status).toBe(200);
  });

  it('accepts exactly one scheme and one token, even for a token it already knows', async () => {
    const token = await stack.token({ role: 'PATIENT', sub: SEEDED.patient });
    // Verified once, so remembered: what follows must not be answered from memory either.
    expect((await post(stack.gatewayUrl, null, { query: ME }, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await post(stack.gatewayUrl, null, { query: ME }, { authorization: `bearer ${token}` })).status).toBe(200);
    for (const authorization of [
      `Bearer ${token} junk`,
      `Bearer ${token} ${token}`,
      `Bearer ${token},Bearer ${token}`,
      `Bearer ${token}.extra`,
      `Bearer ${token.split('.').slice(0, 2).join('.')}`,
      `Bearer ${token.replace('.', '..')}`,
      `Bearer ${token}=`,
      `Bearer "${token}"`,
      `Token ${token}`,
      `Bearer`,
      token,
    ]) {
      await refusedToken(authorization);
    }
  });

  it('tells a caller without a token how to authenticate (RFC 6750), and one with a bad token why it failed', async () => {
    const none = await post(stack.gatewayUrl, null, { query: ME });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    await refusedToken('Basic dXNlcjpwYXNz');
    await refusedToken(`Bearer ${await sign({}, { iat: now() - 7200, exp: now() - 3600 })}`);
    // A subgraph refusing a request that did not come through the gateway says the same.
    const direct = await fetch(stack.subgraphUrls.patients, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(direct.status).toBe(401);
    expect(direct.headers.get('www-authenticate')).toBe('Bearer');
  });
});

describe('persisted queries trust only what the caller proves', () => {
  const query = '{ searchProviders(name: "a", first: 1) { edges { node { id } } } }';

  it('lets no client name past the safelist, whatever an older configuration still lists', async () => {
    const uri = await gatewayWith((config) => ({
      ...config,
      // As a configuration written for the old client-name bypass would still say.
      persistedQueries: { ...config.persistedQueries, mode: 'safelist', bypassRoles: ['ADMIN'], ...{ bypassClients: ['ops-console'] } },
    }));
    const { result, statements } = await countStatements(stack.db, () =>
      post(uri, clinician, { query }, { 'apollographql-client-name': 'ops-console' }),
    );
    expect(result.status).toBe(400);
    expect(codeOf(result)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(statements).toEqual([]);
    // The verified role still bypasses.
    expect((await post(uri, { role: 'ADMIN', sub: 'staff-admin-1' }, { query })).body.data.searchProviders.edges).toHaveLength(1);
  });

  it('refuses to start a gateway with PQ_BYPASS_CLIENTS set, in one line that says what to use instead', async () => {
    const { DATABASE_URL: _database, ...env } = process.env;
    const child = spawn(process.execPath, [fileURLToPath(new URL('../gateway/dist/index.js', import.meta.url))], {
      env: {
        ...env,
        NODE_ENV: 'test',
        PQ_BYPASS_CLIENTS: 'ops-console',
        GATEWAY_PORT: '0',
        PGLITE_DATA_DIR: 'memory://',
        AUDIT_JOURNAL_DIR: mkdtempSync(join(tmpdir(), 'gateway-journal-')),
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 20_000);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(stdout).not.toMatch(/Gateway ready/);
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Configuration error: PQ_BYPASS_CLIENTS .*apollographql-client-name.*PQ_BYPASS_ROLES/);
  });

  it('answers an APQ request of an unknown protocol version with a coded 400', async () => {
    const text = `{ provider(id: "${SEEDED.clinician}") { id } }`;
    const hash = createHash('sha256').update(text).digest('hex');
    for (const persistedQuery of [{ version: 2, sha256Hash: hash }, { sha256Hash: hash }, 'yes']) {
      for (const body of [{ query: text, extensions: { persistedQuery } }, { extensions: { persistedQuery } }]) {
        const answer = await post(stack.gatewayUrl, clinician, body);
        expect(answer.status).toBe(400);
        expect(codeOf(answer)).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
      }
    }
    for (const sha256Hash of [42, null, 'not-a-digest', `${hash}0`]) {
      const answer = await post(stack.gatewayUrl, clinician, { query: text, extensions: { persistedQuery: { version: 1, sha256Hash } } });
      expect(answer.status).toBe(400);
      expect(codeOf(answer)).toBe('BAD_REQUEST');
    }
  });
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Whether the server closed the connection after answering. */
  closed: boolean;
}

/** Sends bytes as they are over a fresh TCP connection and reads the answer until the server closes it. */
function rawRequest(url: string, request: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => finish(false), 5_000);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(text)}`));
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4), closed });
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => finish(true));
    socket.write(request, 'latin1');
  });
}

const malformed: [string, string, number, string][] = [
  ['a NUL byte in a header', 'GET /graphql HTTP/1.1\r\nHost: x\r\nX-Note: a\u0000b\r\n\r\n', 400, 'BAD_REQUEST'],
  ['a bare CR in a header', 'GET /graphql HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n\r\n', 400, 'BAD_REQUEST'],
  ['a bare LF inside a header line', 'GET /graphql HTTP/1.1\r\nHost: x\r\nX-Note: a\nb c\r\n\r\n', 400, 'BAD_REQUEST'],
  ['a header name with a space', 'GET /graphql HTTP/1.1\r\nHost: x\r\nX Note: a\r\n\r\n', 400, 'BAD_REQUEST'],
  [
    'a Content-Length that is not a number',
    'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}',
    400,
    'BAD_REQUEST',
  ],
  [
    'two different Content-Lengths',
    'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
    400,
    'BAD_REQUEST',
  ],
  ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n', 400, 'BAD_REQUEST'],
  ['20 KB of headers', `GET /graphql HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
  [
    '200 headers of 100 bytes',
    `GET /graphql HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 200 }, (_, i) => `X-H${i}: ${'b'.repeat(100)}\r\n`).join('')}\r\n`,
    431,
    'HEADERS_TOO_LARGE',
  ],
];

describe('malformed HTTP gets a coded JSON answer, then the connection is closed', () => {
  const targets = () => ({ gateway: stack.gatewayUrl, patients: stack.subgraphUrls.patients });

  it.each(malformed)('%s', async (_, request, status, code) => {
    for (const [service, url] of Object.entries(targets())) {
      const answer = await rawRequest(url, request);
      expect({ service, status: answer.status }).toEqual({ service, status });
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(answer.headers.connection).toBe('close');
      expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
      const body = JSON.parse(answer.body) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe(code);
      expect(body.errors[0]!.message.length).toBeGreaterThan(0);
      expect(answer.body).not.toMatch(/aaaa|bbbb|HPE_|\n\s+at /);
      expect(answer.closed).toBe(true);
    }
  });

  it('keeps answering well-formed requests afterwards', async () => {
    for (const url of Object.values(targets())) {
      const health = await fetch(new URL('/health', url));
      expect(health.status).toBe(200);
    }
  });
});

describe('request bodies must be JSON', () => {
  const query = `{ provider(id: "${SEEDED.clinician}") { id } }`;

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['text/plain with the CSRF preflight header', { 'content-type': 'text/plain', 'apollo-require-preflight': 'true' }],
    [
      'a type that merely contains application/json',
      { 'content-type': 'text/plain; note=application/json', 'apollo-require-preflight': 'true' },
    ],
    ['application/jsonx', { 'content-type': 'application/jsonx', 'apollo-require-preflight': 'true' }],
    ['application/graphql', { 'content-type': 'application/graphql', 'apollo-require-preflight': 'true' }],
    ['multipart/form-data', { 'content-type': 'multipart/form-data; boundary=x', 'apollo-require-preflight': 'true' }],
  ])('answers a POST of %s with 415 and a coded JSON error, before any subgraph is called', async (_, headers) => {
    const token = await stack.token(clinician);
    const { result, statements } = await countStatements(stack.db, async () => {
      const response = await fetch(stack.gatewayUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...headers },
        body: JSON.stringify({ query }),
      });
      return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
    });
    expect(result.status).toBe(415);
    expect(result.type).toMatch(/^application\/json/);
    const body = JSON.parse(result.body) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(body.errors[0]!.message).toContain('application/json');
    expect(statements).toEqual([]);
  });

  it('answers a POST without a content type the same way, and still takes application/json with parameters', async () => {
    const token = await stack.token(clinician);
    const bare = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
      body: new Blob([JSON.stringify({ query })]),
    });
    expect(bare.status).toBe(415);
    expect(((await bare.json()) as any).errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    for (const type of ['application/json; charset=utf-8', 'Application/JSON']) {
      const ok = await post(stack.gatewayUrl, clinician, { query }, { 'content-type': type });
      expect(ok.status).toBe(200);
      expect(ok.body.data.provider.id).toBe(SEEDED.clinician);
    }
  });

  it('holds for subgraphs too', async () => {
    const response = await fetch(stack.subgraphUrls.providers, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(response.status).toBe(415);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});
