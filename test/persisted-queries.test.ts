import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { generatePersistedQueryIdsFromManifest } from '@apollo/persisted-query-lists';
import { SEEDED } from '@healthgraph/db';
import { createGateway } from '@healthgraph/gateway';
import { DEFAULT_MANIFEST_PATH, TrustedOperations } from '@healthgraph/gateway/persisted-queries';
import type { Listening } from '@healthgraph/platform';
import type { StackConfig as Config } from '@healthgraph/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from './helpers/database.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const manifest = { operations: [...new TrustedOperations(DEFAULT_MANIFEST_PATH).operations] };
const op = (name: string) => manifest.operations.find((o) => o.name === name)!;

let stack: TestStack;
const gateways: Listening[] = [];
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await stack?.close();
});

/** Another gateway over the same subgraphs, with its own persisted-query settings. */
async function gatewayWith(
  persistedQueries: Partial<Config['persistedQueries']>,
  extra: Partial<Parameters<typeof createGateway>[0]> = {},
) {
  const listening = await createGateway({
    config: { ...stack.config, persistedQueries: { ...stack.config.persistedQueries, ...persistedQueries } },
    subgraphUrls: stack.subgraphUrls,
    audit: stack.audit,
    ...extra,
  }).listen(0);
  gateways.push(listening);
  return `${listening.url}/graphql`;
}

/** An Apollo Client 4 whose every request body is recorded. */
async function portalClient(uri: string, role: 'CLINICIAN' | 'PATIENT' | 'ADMIN', link: 'apq' | 'manifest') {
  const sent: Record<string, unknown>[] = [];
  const token = await stack.token(
    role === 'ADMIN'
      ? { role, sub: 'staff-admin-1' }
      : role === 'PATIENT'
        ? { role, sub: SEEDED.patient }
        : { role, sub: SEEDED.clinician },
  );
  const http = new HttpLink({
    uri,
    headers: { authorization: `Bearer ${token}` },
    fetch: async (url, init) => {
      sent.push(JSON.parse(String(init?.body)));
      return fetch(url, init);
    },
  });
  const persisted =
    link === 'apq'
      ? createPersistedQueryLink({ sha256 })
      : createPersistedQueryLink(generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest as never }));
  return { client: new ApolloClient({ link: persisted.concat(http), cache: new InMemoryCache() }), sent };
}

async function post(
  uri: string,
  body: object,
  headers: Record<string, string> = {},
  caller: Parameters<TestStack['token']>[0] = { role: 'CLINICIAN', sub: SEEDED.clinician },
) {
  const token = await stack.token(caller);
  const response = await fetch(uri, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] } };
}
const codeOf = (r: { body: { errors?: { extensions?: { code?: string } }[] } }) => r.body.errors?.[0]?.extensions?.code;

const PROVIDER = gql`query ProviderCard($id: ID!) { provider(id: $id) { id name { text } specialty } }`;

describe('automatic persisted queries (APQ)', () => {
  it('registers on first use, then a fresh Apollo Client hits by hash alone', async () => {
    const first = await portalClient(stack.gatewayUrl, 'CLINICIAN', 'apq');
    const a = await first.client.query({ query: PROVIDER, variables: { id: SEEDED.clinician } });
    expect((a.data as any).provider.id).toBe(SEEDED.clinician);
    expect(first.sent[0]!.query).toBeUndefined(); // hash only: PERSISTED_QUERY_NOT_FOUND...
    expect(first.sent[1]!.query).toBeDefined(); // ...then the text, which registers it
    const fresh = await portalClient(stack.gatewayUrl, 'CLINICIAN', 'apq');
    const b = await fresh.client.query({ query: PROVIDER, variables: { id: SEEDED.otherClinician } });
    expect((b.data as any).provider.id).toBe(SEEDED.otherClinician);
    expect(fresh.sent).toHaveLength(1);
    expect(fresh.sent[0]!.query).toBeUndefined();
  });

  it.skipIf(!process.env.REDIS_URL)('answers on a second replica a hash registered through the first (shared Redis)', async () => {
    const query = 'query Replica($id: ID!) { provider(id: $id) { npi } }';
    const hash = sha256(query);
    const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    const replicaA = await gatewayWith({ mode: 'off' });
    const replicaB = await gatewayWith({ mode: 'off' });
    expect(codeOf(await post(replicaB, { extensions, variables: { id: SEEDED.clinician } }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await post(replicaA, { query, extensions, variables: { id: SEEDED.clinician } })).body.data.provider.npi).toBeTruthy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await post(replicaB, { extensions, variables: { id: SEEDED.clinician } })).body.data.provider.npi).toBeTruthy();
  });

  it('answers hashed queries sent as GET (cacheable by HTTP intermediaries that may cache them)', async () => {
    const query = 'query GetCard($id: ID!) { provider(id: $id) { id specialty } }';
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };
    await post(stack.gatewayUrl, { query, extensions, variables: { id: SEEDED.clinician } }); // registers
    const token = await stack.token({ role: 'CLINICIAN', sub: SEEDED.clinician });
    const search = new URLSearchParams({
      extensions: JSON.stringify(extensions),
      variables: JSON.stringify({ id: SEEDED.clinician }),
      operationName: 'GetCard',
    });
    const response = await fetch(`${stack.gatewayUrl}?${search}`, {
      headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).data.provider.id).toBe(SEEDED.clinician);
  });

  it('refuses text whose hash does not match the claimed sha256Hash', async () => {
    const response = await post(stack.gatewayUrl, {
      query: '{ me { id } }',
      extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ patient(id: "x") { id } }') } },
    });
    expect(response.status).toBe(400);
    expect(codeOf(response)).toBe('PERSISTED_QUERY_HASH_MISMATCH');
  });
});

describe('trusted operations (the manifest)', () => {
  it('is Apollo’s own manifest format, made from schema/operations', () => {
    const raw = JSON.parse(readFileSync(DEFAULT_MANIFEST_PATH, 'utf8'));
    expect(raw).toMatchObject({ format: 'apollo-persisted-query-manifest', version: 1 });
    expect(manifest.operations.length).toBeGreaterThanOrEqual(14);
    for (const o of manifest.operations) expect(o.id).toBe(sha256(o.body));
  });

  it('safelist: runs manifest operations by id (Apollo Client with the manifest) and by identical text', async () => {
    const uri = await gatewayWith({ mode: 'safelist' });
    const { client, sent } = await portalClient(uri, 'PATIENT', 'manifest');
    const result = await client.query({
      query: gql(readFileSync(new URL('../schema/operations/my-record.graphql', import.meta.url), 'utf8')),
    });
    expect((result.data as any).me.id).toBe(SEEDED.patient);
    expect(sent[0]!.query).toBeUndefined();
    expect((sent[0]!.extensions as any).persistedQuery.sha256Hash).toBe(op('MyRecord').id);
    const byText = await post(uri, { query: op('SearchProviders').body, variables: { name: 'a' } });
    expect(byText.body.data.searchProviders.edges.length).toBeGreaterThan(0);
  });

  it('safelist: refuses anything else, by text or by an unknown hash (no APQ registration)', async () => {
    const uri = await gatewayWith({ mode: 'safelist' });
    const query = `{ patient(id: "${SEEDED.patient}") { name { text } } }`;
    const { result, statements } = await countStatements(stack.db, () => post(uri, { query }));
    expect(result.status).toBe(400);
    expect(codeOf(result)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(statements).toEqual([]);
    const register = await post(uri, { query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } });
    expect(codeOf(register)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(codeOf(await post(uri, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }))).toBe(
      'PERSISTED_QUERY_NOT_IN_LIST',
    );
  });

  it('safelist: lets the configured bypass roles through, and only those; a client name the caller sends is no bypass', async () => {
    const uri = await gatewayWith({ mode: 'safelist', bypassRoles: ['ADMIN'] });
    const query = '{ searchProviders(name: "a", first: 1) { edges { node { id } } } }';
    expect((await post(uri, { query }, {}, { role: 'ADMIN', sub: 'staff-admin-1' })).body.data.searchProviders.edges).toHaveLength(1);
    expect(codeOf(await post(uri, { query }, { 'apollographql-client-name': 'ops-console' }))).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(codeOf(await post(uri, { query }, { 'apollographql-client-name': 'patient-portal' }))).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(codeOf(await post(uri, { query }, {}, { role: 'SCHEDULER', sub: 'staff-1' }))).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('require_id: runs manifest operations by id only, even their exact text is refused', async () => {
    const uri = await gatewayWith({ mode: 'require_id' });
    const byId = await post(uri, {
      extensions: { persistedQuery: { version: 1, sha256Hash: op('SearchProviders').id } },
      variables: { name: 'a' },
    });
    expect(byId.body.data.searchProviders.edges.length).toBeGreaterThan(0);
    const byText = await post(uri, { query: op('SearchProviders').body, variables: { name: 'a' } });
    expect(byText.status).toBe(400);
    expect(codeOf(byText)).toBe('PERSISTED_QUERY_ID_REQUIRED');
  });

  it('log_unknown: accepts anything and logs what is not in the manifest, by name and hash only', async () => {
    const logged: unknown[] = [];
    const uri = await gatewayWith({ mode: 'log_unknown' }, { logUnknownOperation: (o) => logged.push(o) });
    const query = 'query Curious($id: ID!) { provider(id: $id) { specialty } }';
    expect((await post(uri, { query, variables: { id: SEEDED.clinician } })).body.data.provider.specialty).toBeTruthy();
    expect((await post(uri, { query: op('SearchProviders').body, variables: { name: 'a' } })).status).toBe(200);
    expect(logged).toEqual([{ name: null, hash: sha256(query), role: 'CLINICIAN' }]);
    expect(JSON.stringify(logged)).not.toContain(SEEDED.clinician);
  });

  it('pre-plans the trusted operations, so their first request builds no plan', async () => {
    const gateway = createGateway({
      config: { ...stack.config, persistedQueries: { ...stack.config.persistedQueries, mode: 'safelist', bypassRoles: ['SCHEDULER'] } },
      subgraphUrls: stack.subgraphUrls,
      audit: stack.audit,
    });
    const listening = await gateway.listen(0);
    gateways.push(listening);
    expect(await gateway.prePlanned()).toBe(manifest.operations.length);
    const planner = (gateway.gateway as unknown as { queryPlanner: { buildQueryPlan: (...args: unknown[]) => unknown } }).queryPlanner;
    let built = 0;
    const build = planner.buildQueryPlan.bind(planner);
    planner.buildQueryPlan = (...args: unknown[]) => {
      built++;
      return build(...args);
    };
    const uri = `${listening.url}/graphql`;
    const first = await post(uri, {
      operationName: 'SearchProviders',
      extensions: { persistedQuery: { version: 1, sha256Hash: op('SearchProviders').id } },
      variables: { name: 'a' },
    });
    expect(first.body.data.searchProviders.edges.length).toBeGreaterThan(0);
    expect(built).toBe(0);
    await post(
      uri,
      { query: '{ searchProviders(name: "b", first: 1) { edges { node { id } } } }' },
      {},
      { role: 'SCHEDULER', sub: 'staff-1' },
    );
    expect(built).toBe(1); // an operation outside the list is planned on first use
  });

  it('reloads the manifest when the file changes', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'manifest-')), 'manifest.json');
    const only = (names: string[]) => ({
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: manifest.operations.filter((o) => names.includes(o.name)),
    });
    writeFileSync(path, JSON.stringify(only(['MyRecord'])));
    const uri = await gatewayWith({ mode: 'require_id', manifestPath: path });
    const ask = () =>
      post(uri, { extensions: { persistedQuery: { version: 1, sha256Hash: op('SearchProviders').id } }, variables: { name: 'a' } });
    expect(codeOf(await ask())).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    writeFileSync(path, JSON.stringify(only(['MyRecord', 'SearchProviders'])));
    let answer = await ask();
    for (let i = 0; i < 40 && codeOf(answer); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      answer = await ask();
    }
    expect(answer.body.data.searchProviders.edges.length).toBeGreaterThan(0);
    copyFileSync(DEFAULT_MANIFEST_PATH, path);
  });
});
