import { SEEDED } from '@healthgraph/db';
import { internalTokenKey, signInternalToken } from '@healthgraph/platform';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestStack, type TestStack } from './helpers/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
});
afterAll(() => stack?.close());

const ME = '{ me { id name { text } } }';
const secret = () => new TextEncoder().encode(stack.config.jwt.secret);

function claims(overrides: { iss?: string; aud?: string; exp?: number; iat?: number } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'PATIENT', purpose: 'TREAT' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(SEEDED.patient)
    .setIssuer(overrides.iss ?? stack.config.jwt.issuer)
    .setAudience(overrides.aud ?? stack.config.jwt.audience)
    .setIssuedAt(overrides.iat ?? now)
    .setExpirationTime(overrides.exp ?? now + 600);
}

async function refused(headers: Record<string, string>) {
  const response = await stack.query({ headers }, ME);
  expect(response.status).toBe(401);
  expect(codes(response)).toEqual(['UNAUTHENTICATED']);
  expect(response.body.data ?? null).toBeNull();
  expect(JSON.stringify(response.body)).not.toMatch(/stack|at \w+ \(/);
}

describe('authentication at the gateway', () => {
  it('accepts a valid token', async () => {
    const { status, body } = await stack.query({ role: 'PATIENT', sub: SEEDED.patient }, ME);
    expect(status).toBe(200);
    expect((body.data!.me as { id: string }).id).toBe(SEEDED.patient);
  });

  it('refuses a request without a token', () => refused({}));
  it('refuses a malformed authorization header', () => refused({ authorization: 'Basic dXNlcjpwYXNz' }));
  it('refuses an expired token', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    await refused({ authorization: `Bearer ${await claims({ iat: past - 60, exp: past }).sign(secret())}` });
  });
  it('refuses a token signed with another secret', async () => {
    await refused({ authorization: `Bearer ${await claims().sign(new TextEncoder().encode('some-other-secret-of-enough-length'))}` });
  });
  it('refuses an unsigned token (alg: none)', async () => {
    const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: SEEDED.patient, role: 'PATIENT', iss: stack.config.jwt.issuer, aud: stack.config.jwt.audience, iat: now, exp: now + 600 })}.`;
    await refused({ authorization: `Bearer ${unsigned}` });
  });
  it('refuses a token for another audience', async () => {
    await refused({ authorization: `Bearer ${await claims({ aud: 'some-other-api' }).sign(secret())}` });
  });
  it('refuses a token from another issuer', async () => {
    await refused({ authorization: `Bearer ${await claims({ iss: 'https://evil.example' }).sign(secret())}` });
  });
  it('refuses a token with an unknown role', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ role: 'SUPERUSER' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer(stack.config.jwt.issuer)
      .setAudience(stack.config.jwt.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(secret());
    await refused({ authorization: `Bearer ${token}` });
  });
  it('refuses a break-glass token that lives longer than 15 minutes', async () => {
    const token = await stack.token({ role: 'CLINICIAN', sub: SEEDED.clinician, purpose: 'BTG', reason: 'Cardiac arrest in ward 3' });
    expect((await stack.query({ headers: { authorization: `Bearer ${token}` } }, ME)).status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    const long = await new SignJWT({ role: 'CLINICIAN', purpose: 'BTG', reason: 'Cardiac arrest in ward 3' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(SEEDED.clinician)
      .setIssuer(stack.config.jwt.issuer)
      .setAudience(stack.config.jwt.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(secret());
    await refused({ authorization: `Bearer ${long}` });
  });
});

describe('subgraphs called directly, bypassing the gateway', () => {
  const query = `{ _entities(representations: [{ __typename: "Patient", id: "${SEEDED.patient}" }]) { ... on Patient { allergies { id } } } }`;
  const post = (url: string, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });

  it('answer 401 without the gateway token', async () => {
    for (const url of Object.values(stack.subgraphUrls)) {
      const response = await post(url);
      expect(response.status).toBe(401);
      expect(JSON.stringify(await response.json())).not.toContain('alg-');
    }
  });

  it('answer 401 to a client token, which is not a gateway token', async () => {
    const token = await stack.token({ role: 'CLINICIAN', sub: SEEDED.clinician });
    expect((await post(stack.subgraphUrls.records, { authorization: `Bearer ${token}` })).status).toBe(401);
  });

  it('answer 401 to a gateway-shaped token signed with the wrong secret', async () => {
    const forged = await signInternalToken(
      internalTokenKey('not-the-subgraph-secret-but-long-enough'),
      { role: 'CLINICIAN', sub: SEEDED.clinician, purpose: 'TREAT' },
      'req-12345678',
    );
    expect((await post(stack.subgraphUrls.records, { authorization: `Bearer ${forged}` })).status).toBe(401);
  });

  it('answer with a valid gateway token (the check is not vacuous)', async () => {
    const genuine = await signInternalToken(
      internalTokenKey(stack.config.subgraphTokenSecret),
      { role: 'CLINICIAN', sub: SEEDED.clinician, purpose: 'TREAT' },
      'req-12345678',
    );
    const response = await post(stack.subgraphUrls.records, { authorization: `Bearer ${genuine}` });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { _entities: { allergies: unknown[] }[] } };
    expect(body.data._entities[0]!.allergies.length).toBeGreaterThan(0);
  });
});
