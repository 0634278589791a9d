import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations, openDatabase } from '@healthgraph/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, startProcess } from './helpers/process.js';
import { type Caller, startTestStack, type TestStack } from './helpers/stack.js';

/**
 * Rate limits shared by two gateway processes (gateway/dist/index.js, as production runs it) over
 * one Redis of the test's own, a redis-server on a free port that the test stops and starts again.
 */

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('REDIS_URL is not set: the shared rate-limit tests (two gateway processes, Redis outage) are skipped.');

const LIMIT = 6;
let stack: TestStack;
let redis: ChildProcess | undefined;
let redisPort = 0;
const gateways: RunningProcess[] = [];

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

async function startRedis(): Promise<void> {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
}

async function stopRedis(): Promise<void> {
  const gone = new Promise((resolve) => redis?.once('exit', resolve));
  redis?.kill('SIGKILL');
  await gone;
}

/** A gateway process over the test's subgraphs and the private Redis, with its own audit database. */
async function startGateway(): Promise<RunningProcess> {
  const url = (stack.db as { url?: string }).url;
  const database: Record<string, string> = url ? { DATABASE_URL: url } : { PGLITE_DATA_DIR: mkdtempSync(join(tmpdir(), 'hg-rl-db-')) };
  if (!url) {
    const own = await openDatabase({ dataDir: database.PGLITE_DATA_DIR });
    await applyMigrations(own.adapterFactory);
    await own.close();
  }
  const gateway = await startProcess('gateway/dist/index.js', {
    ...database,
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    PQ_MODE: 'off',
    JWT_SECRET: stack.config.jwt.secret,
    SUBGRAPH_TOKEN_SECRET: stack.config.subgraphTokenSecret,
    AUDIT_JOURNAL_DIR: mkdtempSync(join(tmpdir(), 'hg-rl-journal-')),
    GATEWAY_PORT: '0',
    PATIENTS_URL: stack.subgraphUrls.patients,
    PROVIDERS_URL: stack.subgraphUrls.providers,
    APPOINTMENTS_URL: stack.subgraphUrls.appointments,
    RECORDS_URL: stack.subgraphUrls.records,
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    CACHE_PREFIX: `hgtest-rl-${process.pid}`,
    RATE_LIMIT_SUB_PORTAL: String(LIMIT),
  });
  gateways.push(gateway);
  return gateway;
}

beforeAll(async () => {
  if (!REDIS_URL) return;
  stack = await startTestStack({ seed: { patients: 20 } });
  redisPort = await freePort();
  await startRedis();
  await Promise.all([startGateway(), startGateway()]);
});
afterAll(async () => {
  for (const gateway of gateways) gateway.child.kill('SIGKILL');
  redis?.kill('SIGKILL');
  await stack?.close();
});

const patient = (n: number): Caller => ({ role: 'PATIENT', sub: `pat-${String(n).padStart(6, '0')}` });

async function ask(gateway: RunningProcess, caller: Caller) {
  const started = performance.now();
  const response = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.token(caller)}` },
    body: JSON.stringify({ query: `{ patient(id: "${caller.sub}") { id } }` }),
  });
  const body = (await response.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body, ms: performance.now() - started };
}

/** Sends `n` requests as `caller`, alternating between the gateways given; returns the statuses. */
async function burst(caller: Caller, n: number, via: RunningProcess[]) {
  const answers = [];
  for (let i = 0; i < n; i++) answers.push(await ask(via[i % via.length]!, caller));
  return answers;
}

describe.skipIf(!REDIS_URL)('rate limits shared by two gateway processes over one Redis', () => {
  it('counts a caller across both replicas and refuses the request over the limit with 429, Retry-After and RATE_LIMITED', async () => {
    const answers = await burst(patient(1), LIMIT + 2, gateways);
    expect(answers.map((a) => a.status)).toEqual([...Array(LIMIT).fill(200), 429, 429]);
    const refused = answers[LIMIT]!;
    const seconds = Number(refused.retryAfter);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(60);
    expect(refused.body).toEqual({
      errors: [
        {
          message: `Too many requests from this caller: at most ${LIMIT} per 60 s`,
          extensions: { code: 'RATE_LIMITED', limit: 'sub', retryAfter: seconds },
        },
      ],
    });
    // Another caller is counted apart.
    expect((await ask(gateways[1]!, patient(2))).status).toBe(200);
  });

  it('falls back to limits per process while Redis is down, answering at once, and shares them again once it is back', async () => {
    await stopRedis();
    const caller = patient(3);
    const [a, b] = gateways as [RunningProcess, RunningProcess];
    const onA = await burst(caller, LIMIT + 1, [a]);
    expect(onA.map((x) => x.status)).toEqual([...Array(LIMIT).fill(200), 429]);
    const onB = await burst(caller, LIMIT + 1, [b]);
    expect(onB.map((x) => x.status)).toEqual([...Array(LIMIT).fill(200), 429]);
    for (const answer of [...onA, ...onB]) expect(answer.ms).toBeLessThan(2_000);

    await startRedis();
    // The clients reconnect by themselves (back-off up to 2 s). Counted alone, a fresh caller's
    // seven requests split over both replicas would all pass; counted together, the seventh is refused.
    const deadline = Date.now() + 15_000;
    let shared: number[] = [];
    for (let round = 5; Date.now() < deadline; round++) {
      shared = (await burst(patient(round), LIMIT + 1, gateways)).map((x) => x.status);
      if (shared.filter((s) => s === 200).length === LIMIT) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(shared).toEqual([...Array(LIMIT).fill(200), 429]);
  });
});
