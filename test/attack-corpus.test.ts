import { SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from './helpers/database.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
let token: string;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 10 } });
  token = await stack.token({ role: 'CLINICIAN', sub: SEEDED.clinician });
});
afterAll(() => stack?.close());

interface Attack {
  name: string;
  /** A GraphQL operation, or a raw body when `raw` is set. */
  query?: string;
  variables?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  status: number;
  code: string;
  /** This attack must be refused before any subgraph (and so the database) is asked. */
  noSql?: boolean;
}

const repeat = (n: number, f: (i: number) => string, sep = ' ') => Array.from({ length: n }, (_, i) => f(i)).join(sep);
/** patient -> appointments -> node -> patient ... : 4 levels per turn. */
const deep = (turns: number) => {
  let q = 'id';
  for (let i = 0; i < turns; i++) q = `appointments(first: 1) { edges { node { patient { ${q} } } } }`;
  return `{ patient(id: "${SEEDED.patient}") { ${q} } }`;
};
const fragmentChain = (n: number) =>
  `{ patient(id: "${SEEDED.patient}") { ...D0 } }\n` +
  repeat(
    n,
    (i) =>
      i === n - 1
        ? `fragment D${i} on Patient { id }`
        : `fragment D${i} on Patient { appointments(first: 1) { edges { node { patient { ...D${i + 1} } } } } }`,
    '\n',
  );
const fragmentBomb = (levels: number) =>
  `{ me { ...F0 } }\n` +
  repeat(
    levels,
    (i) => (i === levels - 1 ? `fragment F${i} on Patient { id }` : `fragment F${i} on Patient { ...F${i + 1} ...F${i + 1} }`),
    '\n',
  );
const nestedJson = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const corpus: Attack[] = [
  // Depth bombs: 4 levels per turn, limit 12.
  ...[3, 4, 5, 8, 12, 20, 30, 50].map((turns) => ({
    name: `depth bomb, ${turns * 4 + 2} levels`,
    query: deep(turns),
    status: 400,
    code: 'MAX_DEPTH_EXCEEDED',
    noSql: true,
  })),
  ...[4, 6, 10, 25].map((n) => ({
    name: `depth through a chain of ${n} fragments`,
    query: fragmentChain(n),
    status: 400,
    code: 'MAX_DEPTH_EXCEEDED',
    noSql: true,
  })),
  // Fragment bombs: each fragment spreads the next twice.
  ...[12, 16, 20, 25, 30, 40, 60].map((levels) => ({
    name: `fragment bomb, 2^${levels - 1} fields`,
    query: fragmentBomb(levels),
    status: 400,
    code: 'MAX_FIELDS_EXCEEDED',
    noSql: true,
  })),
  // Alias floods, directly and multiplied through fragments.
  ...[31, 50, 100, 300, 900].map((n) => ({
    name: `${n} aliases`,
    query: `{ me { ${repeat(n, (i) => `a${i}: id`)} } }`,
    status: 400,
    code: 'MAX_ALIASES_EXCEEDED',
    noSql: true,
  })),
  ...[4, 8, 16].map((n) => ({
    name: `10 aliases spread ${n} times`,
    query: `{ me { ${repeat(n, () => '...A')} } } fragment A on Patient { ${repeat(10, (i) => `x${i}: id`)} }`,
    status: 400,
    code: 'MAX_ALIASES_EXCEEDED',
    noSql: true,
  })),
  // Root field floods.
  ...[11, 20, 50, 200].map((n) => ({
    name: `${n} root fields`,
    query: `{ ${repeat(n, () => 'me { id }')} }`,
    status: 400,
    code: 'MAX_ROOT_FIELDS_EXCEEDED',
    noSql: true,
  })),
  // Token floods.
  ...[3_001, 5_000, 20_000, 100_000].map((n) => ({
    name: `${n} tokens`,
    query: `{ me { ${repeat(Math.ceil(n / 1), () => 'id', ' ')} } }`,
    status: 400,
    code: 'MAX_TOKENS_EXCEEDED',
    noSql: true,
  })),
  // Commas are insignificant in GraphQL: they cost no token, and an empty argument list is a syntax error.
  ...[2_000, 10_000].map((n) => ({
    name: `${n} commas in an argument list`,
    query: `{ me(${repeat(n, () => '', ',')}) { id } }`,
    status: 400,
    code: 'GRAPHQL_PARSE_FAILED',
    noSql: true,
  })),
  // Directive floods: no executable directive may repeat, so validation refuses them first.
  ...[2, 5, 20, 100].map((n) => ({
    name: `${n} directives on a field`,
    query: `{ me { id ${repeat(n, () => '@include(if: true)')} } }`,
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  })),
  ...[1, 3].map((n) => ({
    name: `${n} unknown directives`,
    query: `{ me { id ${repeat(n, (i) => `@evil${i}`)} } }`,
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  })),
  // Fragment cycles.
  {
    name: 'fragment spreading itself',
    query: '{ me { ...A } } fragment A on Patient { id ...A }',
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  },
  {
    name: 'two-fragment cycle',
    query: '{ me { ...A } } fragment A on Patient { ...B } fragment B on Patient { ...A }',
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  },
  {
    name: 'three-fragment cycle',
    query: '{ me { ...A } } fragment A on Patient { ...B } fragment B on Patient { ...C } fragment C on Patient { id ...A }',
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  },
  {
    name: 'cycle through an inline fragment',
    query: '{ me { ...A } } fragment A on Patient { ... on Patient { ...A } }',
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  },
  {
    name: 'cycle through a nested field',
    query: '{ me { ...A } } fragment A on Patient { appointments { edges { node { patient { ...A } } } } }',
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  },
  // Huge lists.
  // Over the page maximum the subgraph refuses; far over it, the price does, before any subgraph is called.
  ...[101, 1_000].map((n) => ({
    name: `first: ${n}`,
    query: `{ searchProviders(name: "a", first: ${n}) { edges { node { id } } } }`,
    status: 200,
    code: 'BAD_USER_INPUT',
  })),
  ...[10_000, 1_000_000, 2_147_483_647].map((n) => ({
    name: `first: ${n}`,
    query: `{ searchProviders(name: "a", first: ${n}) { edges { node { id } } } }`,
    status: 400,
    code: 'COST_ESTIMATED_TOO_EXPENSIVE',
    noSql: true,
  })),
  ...[0, -1, -2_147_483_648].map((n) => ({
    name: `first: ${n}`,
    query: `{ searchProviders(name: "a", first: ${n}) { edges { node { id } } } }`,
    status: 200,
    code: 'BAD_USER_INPUT',
  })),
  {
    name: 'vitals(last: 101)',
    query: `{ me: patient(id: "${SEEDED.patient}") { vitals(last: 101) { id } } }`,
    status: 200,
    code: 'BAD_USER_INPUT',
  },
  {
    name: 'vitals(last: 100000)',
    query: `{ me: patient(id: "${SEEDED.patient}") { vitals(last: 100000) { id } } }`,
    status: 400,
    code: 'COST_ESTIMATED_TOO_EXPENSIVE',
    noSql: true,
  },
  {
    name: 'a thousand pages of notes through variables',
    query: 'query($n: Int) { patient(id: "pat-000001") { notes(first: $n) { edges { node { text } } } } }',
    variables: { n: 1_000_000 },
    status: 400,
    code: 'COST_ESTIMATED_TOO_EXPENSIVE',
    noSql: true,
  },
  {
    name: 'first beyond a 32-bit integer',
    query: '{ searchProviders(name: "a", first: 9999999999) { edges { node { id } } } }',
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  },
  {
    name: 'availableSlots over a year',
    query: `{ provider(id: "${SEEDED.clinician}") { availableSlots(from: "2030-01-01T00:00:00Z", to: "2031-01-01T00:00:00Z") { start } } }`,
    status: 200,
    code: 'BAD_USER_INPUT',
  },
  // Giant strings: up to the gateway's bound (10,000) the subgraph refuses them; beyond it the gateway does.
  ...[1_000, 10_000].map((n) => ({
    name: `a ${n}-character search string`,
    query: `{ searchPatients(name: "${'x'.repeat(n)}") { edges { node { id } } } }`,
    status: 200,
    code: 'BAD_USER_INPUT',
  })),
  ...[100_000, 900_000].map((n) => ({
    name: `a ${n}-character search string`,
    query: `{ searchPatients(name: "${'x'.repeat(n)}") { edges { node { id } } } }`,
    status: 400,
    code: 'BAD_USER_INPUT',
    noSql: true,
  })),
  {
    name: 'a 1000-character string in a variable',
    query: 'query($n: String) { searchProviders(name: $n) { edges { node { id } } } }',
    variables: { n: 'y'.repeat(1_000) },
    status: 200,
    code: 'BAD_USER_INPUT',
  },
  {
    name: 'a 500000-character string in a variable',
    query: 'query($n: String) { searchProviders(name: $n) { edges { node { id } } } }',
    variables: { n: 'y'.repeat(500_000) },
    status: 400,
    code: 'BAD_USER_INPUT',
    noSql: true,
  },
  ...[1_100_000, 3_000_000].map((n) => ({
    name: `a ${n}-byte body`,
    query: `{ searchPatients(name: "${'z'.repeat(n)}") { edges { node { id } } } }`,
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    noSql: true,
  })),
  {
    name: 'a giant cursor',
    query: `{ searchProviders(name: "a", after: "${'A'.repeat(200_000)}") { edges { node { id } } } }`,
    status: 400,
    code: 'BAD_USER_INPUT',
    noSql: true,
  },
  { name: 'a giant id', query: `{ patient(id: "${'9'.repeat(100_000)}") { id } }`, status: 400, code: 'BAD_USER_INPUT', noSql: true },
  // Deeply nested variables.
  ...[10, 100, 1_000, 10_000, 100_000].map((depth) => ({
    name: `input nested ${depth} deep`,
    raw: `{"query":"mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }","variables":{"i":${nestedJson(depth)}}}`,
    status: 400,
    code: 'BAD_USER_INPUT',
    noSql: true,
  })),
  ...[1_000, 50_000].map((length) => ({
    name: `a ${length}-element list for a scalar`,
    query: 'query($d: Date) { searchPatients(birthDate: $d) { edges { node { id } } } }',
    variables: { d: Array.from({ length }, () => '2020-01-01') },
    status: 400,
    code: 'BAD_USER_INPUT',
    noSql: true,
  })),
  {
    name: 'variables that are not an object',
    raw: '{"query":"{ me { id } }","variables":[1,2,3]}',
    status: 400,
    code: 'BAD_REQUEST',
    noSql: true,
  },
  // Batch floods.
  ...[2, 10, 100, 1_000].map((n) => ({
    name: `batch of ${n}`,
    raw: JSON.stringify(Array.from({ length: n }, () => ({ query: '{ me { id } }' }))),
    status: 400,
    code: 'BATCH_LIMIT_EXCEEDED',
    noSql: true,
  })),
  // Malformed requests.
  { name: 'syntax error', query: '{ me { id ', status: 400, code: 'GRAPHQL_PARSE_FAILED', noSql: true },
  { name: 'unbalanced braces', query: '}}}}{{{{', status: 400, code: 'GRAPHQL_PARSE_FAILED', noSql: true },
  { name: 'unterminated string', query: '{ patient(id: "abc) { id } }', status: 400, code: 'GRAPHQL_PARSE_FAILED', noSql: true },
  { name: 'query that is not a string', raw: '{"query":{"evil":true}}', status: 400, code: 'BAD_REQUEST', noSql: true },
  { name: 'body that is not JSON', raw: '{"query": "{ me { id } }"', status: 400, code: 'BAD_REQUEST', noSql: true },
  { name: 'empty body', raw: '', status: 400, code: 'BAD_REQUEST', noSql: true },
  { name: 'two anonymous operations', query: '{ me { id } } { me { id } }', status: 400, code: 'GRAPHQL_VALIDATION_FAILED', noSql: true },
  {
    name: 'an operation name that is not there',
    raw: '{"query":"query A { me { id } }","operationName":"B"}',
    status: 400,
    code: 'OPERATION_RESOLUTION_FAILURE',
    noSql: true,
  },
  { name: 'unknown field', query: '{ me { socialSecurityNumber } }', status: 400, code: 'GRAPHQL_VALIDATION_FAILED', noSql: true },
  {
    name: 'introspection outside development',
    query: '{ __schema { types { name fields { name } } } }',
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  },
  {
    name: 'type introspection outside development',
    query: '{ __type(name: "Patient") { fields { name } } }',
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  },
  { name: 'a subscription', query: 'subscription { me { id } }', status: 400, code: 'GRAPHQL_VALIDATION_FAILED', noSql: true },
  {
    name: 'a mutation over GET',
    method: 'GET',
    query: 'mutation { cancelAppointment(id: "apt-0000001") { id } }',
    headers: { 'apollo-require-preflight': 'true' },
    status: 405,
    code: 'BAD_REQUEST',
    noSql: true,
  },
  { name: 'a GET without the CSRF preflight header', method: 'GET', query: '{ me { id } }', status: 400, code: 'BAD_REQUEST', noSql: true },
  {
    name: 'a form post (CSRF)',
    raw: 'query=%7B%20me%20%7B%20id%20%7D%20%7D',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    noSql: true,
  },
  { name: 'no token', headers: { authorization: '' }, query: '{ me { id } }', status: 401, code: 'UNAUTHENTICATED', noSql: true },
  {
    name: 'an unsigned token',
    headers: {
      authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(`{"sub":"${SEEDED.clinician}","role":"ADMIN"}`).toString('base64url')}.`,
    },
    query: '{ me { id } }',
    status: 401,
    code: 'UNAUTHENTICATED',
    noSql: true,
  },
  {
    name: '500 unused variables',
    query: `query(${repeat(500, (i) => `$v${i}: Int`)}) { me { id } }`,
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  },
  {
    name: 'aliases hiding a forbidden mutation',
    query: `mutation { ${repeat(5, (i) => `c${i}: cancelAppointment(id: "apt-000000${i}") { id }`)} }`,
    status: 200,
    code: 'NOT_FOUND',
  },
  {
    name: 'an _entities call through the gateway',
    query: '{ _entities(representations: [{ __typename: "Patient", id: "pat-000002" }]) { __typename } }',
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  },
  {
    name: 'a _service call through the gateway',
    query: '{ _service { sdl } }',
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    noSql: true,
  },
];

async function send(attack: Attack): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    ...(attack.method === 'GET' ? {} : { 'content-type': 'application/json' }),
    ...attack.headers,
  };
  const url = attack.method === 'GET' ? `${stack.gatewayUrl}?query=${encodeURIComponent(attack.query ?? '')}` : stack.gatewayUrl;
  const body = attack.method === 'GET' ? undefined : (attack.raw ?? JSON.stringify({ query: attack.query, variables: attack.variables }));
  const response = await fetch(url, { method: attack.method ?? 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
  return { status: response.status, text: await response.text() };
}

describe('an attack corpus', () => {
  it('holds at least 100 attacks', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(100);
  });

  it.each(corpus.map((attack) => [attack.name, attack] as const))(
    'answers %s with its code, no crash, no stack trace',
    async (_, attack) => {
      const { result, statements } = await countStatements(stack.db, () => send(attack));
      expect(result.status).toBe(attack.status);
      const body = JSON.parse(result.text) as { errors?: { message: string; extensions?: { code?: string } }[] };
      expect(body.errors?.map((e) => e.extensions?.code)).toContain(attack.code);
      expect(result.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
      if (attack.noSql) expect(statements).toEqual([]);
    },
  );

  it('leaves the gateway answering, with bounded memory', async () => {
    const before = process.memoryUsage().rss;
    for (const attack of corpus.filter((a) => a.noSql)) await send(attack);
    const after = process.memoryUsage().rss;
    expect(after - before).toBeLessThan(256 * 1024 * 1024);
    const ok = await stack.query({ role: 'CLINICIAN', sub: SEEDED.clinician }, `{ patient(id: "${SEEDED.patient}") { name { text } } }`);
    expect(ok.status).toBe(200);
    expect((ok.body.data!.patient as { name: { text: string } }).name.text).toBeTruthy();
  });
});
