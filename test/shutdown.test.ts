import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations, openDatabase, SEEDED } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gate, startGate, until } from './helpers/gate.js';
import { type RunningProcess, startProcess } from './helpers/process.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

/**
 * SIGTERM while a request is in flight, against the gateway as production runs it (its own
 * process, gateway/dist/index.js, its own signal handling), in front of subgraphs whose patients
 * hop the test holds closed: the slow request must finish with its answer, /ready must say 503
 * while the gateway drains, and the process must exit 0.
 */

let stack: TestStack;
let gate: Gate;
let gateway: RunningProcess | undefined;
beforeAll(async () => {
  stack = await startTestStack({ seed: { patients: 20 } });
  gate = await startGate(stack.subgraphUrls.patients);
});
afterAll(async () => {
  gateway?.child.kill('SIGKILL');
  gate?.open();
  await gate?.stop();
  await stack?.close();
});

/** The gateway's own audit database: the test's PostgreSQL database, or a fresh embedded one. */
async function gatewayDatabase(): Promise<Record<string, string>> {
  const url = (stack.db as { url?: string }).url;
  if (url) return { DATABASE_URL: url };
  const dir = mkdtempSync(join(tmpdir(), 'hg-shutdown-db-'));
  const own = await openDatabase({ dataDir: dir });
  await applyMigrations(own.adapterFactory);
  await own.close();
  return { PGLITE_DATA_DIR: dir };
}

describe('graceful shutdown', () => {
  it('on SIGTERM answers the request in flight with 200, says 503 on /ready meanwhile, and exits 0', async () => {
    gateway = await startProcess('gateway/dist/index.js', {
      ...(await gatewayDatabase()),
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      PQ_MODE: 'off',
      JWT_SECRET: stack.config.jwt.secret,
      SUBGRAPH_TOKEN_SECRET: stack.config.subgraphTokenSecret,
      AUDIT_JOURNAL_DIR: mkdtempSync(join(tmpdir(), 'hg-shutdown-journal-')),
      GATEWAY_PORT: '0',
      PATIENTS_URL: gate.url,
      PROVIDERS_URL: stack.subgraphUrls.providers,
      APPOINTMENTS_URL: stack.subgraphUrls.appointments,
      RECORDS_URL: stack.subgraphUrls.records,
      SHUTDOWN_READY_DELAY_MS: '1500',
    });
    const base = gateway.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/ready`)).status).toBe(200);

    gate.close();
    const token = await stack.token({ role: 'CLINICIAN', sub: SEEDED.clinician });
    const slow = fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ patient(id: "${SEEDED.patient}") { id name { text } } }` }),
    });
    await until(() => gate.waiting() === 1, 10_000, 'the request reaching the held subgraph');

    gateway.child.kill('SIGTERM');
    await until(() => gateway!.output().includes('stopping'), 5_000, 'the gateway logging that it stops');
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    expect(ready.headers.get('connection')).toBe('close');
    expect((await fetch(`${base}/health`)).status).toBe(200); // liveness: draining is not dead

    // Past the readiness delay the port is closed to new connections; the request in flight goes on.
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    await expect(fetch(`${base}/ready`)).rejects.toThrow();
    gate.open();
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ data: { patient: { id: SEEDED.patient, name: { text: expect.any(String) } } } });
    expect(await gateway.exited).toBe(0);
  });
});
