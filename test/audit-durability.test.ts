import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEEDED } from '@healthgraph/db';
import { mintDevToken } from '@healthgraph/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { type RunningProcess, startProcess, startRelay } from './helpers/process.js';
import { testConfig } from './helpers/stack.js';

/**
 * Durability drills against real processes: the stack runs as `npm start` runs it (its own
 * process, its own signal handling, development mode so no test-only switch is involved), chart
 * reads carry known correlation ids, and the process is stopped, killed or cut off from its
 * database at the worst moment. Afterwards every answer that carried PHI must have its events.
 */

const BASE = process.env.DATABASE_URL;
if (!BASE) console.warn('DATABASE_URL is not set: the audit durability drills (real processes over PostgreSQL) are skipped.');

const config = testConfig();
const READ = `query Drill($id: ID!) { patient(id: $id) { id name { text } birthDate allergies { id code { display } } } }`;

describe.skipIf(!BASE)('audit durability drills', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let team: string[];
  let token: string;
  const journal = mkdtempSync(join(tmpdir(), 'audit-drill-'));
  let running: RunningProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase({ patients: 20 });
    relay = await startRelay(Number(new URL(BASE!).port || 5432), new URL(BASE!).hostname);
    team = (await db.prisma.careTeamMember.findMany({ where: { providerId: SEEDED.clinician }, select: { patientId: true } })).map(
      (m) => m.patientId,
    );
    token = await mintDevToken(config.jwt, { role: 'CLINICIAN', sub: SEEDED.clinician });
  });
  afterAll(async () => {
    running?.child.kill('SIGKILL');
    await relay?.close();
    await db?.close();
  });

  /** The stack as `npm start` runs it, over the relay to this test's database. */
  const start = () => {
    const url = new URL(db.url!);
    url.host = `127.0.0.1:${relay.port}`;
    return startProcess('stack/dist/start.js', {
      DATABASE_URL: url.toString(),
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      JWT_SECRET: config.jwt.secret,
      SUBGRAPH_TOKEN_SECRET: config.subgraphTokenSecret,
      AUDIT_JOURNAL_DIR: journal,
      PQ_MODE: 'off',
      // The drills count answers: on a loaded machine none may be cut off by the 3 s subgraph deadline instead.
      SUBGRAPH_TIMEOUT_MS: '15000',
      GATEWAY_PORT: '0',
      PATIENTS_PORT: '0',
      PROVIDERS_PORT: '0',
      APPOINTMENTS_PORT: '0',
      RECORDS_PORT: '0',
    });
  };

  /**
   * Sends `count` reads, `concurrency` at a time; calls `at` once when the `atResponse`-th answer
   * arrives. Returns the correlation ids of the answers that carried PHI.
   */
  async function reads(
    url: string,
    run: string,
    count: number,
    { concurrency = 10, atResponse = Number.POSITIVE_INFINITY, at = () => {} } = {},
  ) {
    const disclosed: string[] = [];
    let answered = 0;
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const correlationId = `drill-${run}-${i}`;
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': correlationId },
            body: JSON.stringify({ query: READ, variables: { id: team[i % team.length] } }),
          });
          const body = (await response.json()) as { data?: { patient?: { name?: unknown } | null } | null };
          if (body.data?.patient?.name) disclosed.push(correlationId);
        } catch {
          // Refused or cut while the process stopped: nothing was disclosed.
        }
        if (++answered === atResponse) at();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return disclosed;
  }

  /** Disclosures among these correlation ids that have no DISCLOSED event. */
  async function missing(ids: string[]): Promise<string[]> {
    const rows = await db.prisma.auditEvent.findMany({
      where: { correlationId: { in: ids }, outcome: 'DISCLOSED' },
      select: { correlationId: true },
    });
    const recorded = new Set(rows.map((row) => row.correlationId));
    return ids.filter((id) => !recorded.has(id));
  }

  const eventually = async (check: () => Promise<boolean>, ms = 30_000) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  it('SIGTERM during load: in-flight answers complete, every disclosure is recorded, exit code 0', async () => {
    running = await start();
    const disclosed = await reads(running.url, 'term', 300, { atResponse: 280, at: () => running!.child.kill('SIGTERM') });
    expect(await running.exited).toBe(0);
    expect(disclosed.length).toBeGreaterThanOrEqual(280);
    expect(await missing(disclosed)).toEqual([]);
    console.log(`SIGTERM drill: ${disclosed.length} answers with PHI, ${(await missing(disclosed)).length} without an event`);
  });

  it('SIGKILL during load: every answer that carried PHI already had its events', async () => {
    running = await start();
    const disclosed = await reads(running.url, 'kill', 300, { atResponse: 280, at: () => running!.child.kill('SIGKILL') });
    expect(await running.exited).toBe('SIGKILL');
    expect(disclosed.length).toBeGreaterThanOrEqual(280);
    expect(await missing(disclosed)).toEqual([]);
    console.log(`SIGKILL drill: ${disclosed.length} answers with PHI, ${(await missing(disclosed)).length} without an event`);
  });

  it('the database unreachable for seconds under load: answers served from the cache are journaled, then shipped once it is back', async () => {
    running = await start();
    await reads(running.url, 'warm', team.length * 2); // the cache now holds these charts
    let cutAt = 0;
    const during = await reads(running.url, 'outage', 200, {
      atResponse: 20,
      at: () => {
        relay.cut();
        cutAt = Date.now();
        setTimeout(() => relay.restore(), 3_000);
      },
    });
    expect(cutAt).toBeGreaterThan(0);
    expect(during.length).toBeGreaterThan(100); // the cache kept answering while the database was away
    await eventually(async () => (await missing(during)).length === 0);
    expect(await missing(during)).toEqual([]);
    console.log(
      `database outage drill: ${during.length} answers with PHI, ${(await missing(during)).length} without an event once it was back`,
    );
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  });

  it('killed while the database is unreachable: the journal is shipped at the next start, nothing lost', async () => {
    running = await start();
    await reads(running.url, 'warm2', team.length * 2);
    relay.cut();
    const journaled = await reads(running.url, 'journal', 60);
    expect(journaled.length).toBeGreaterThan(30);
    running.child.kill('SIGKILL');
    await running.exited;
    expect(readdirSync(journal).some((name) => name.endsWith('.jsonl'))).toBe(true);
    relay.restore();
    running = await start(); // ships what the killed process left, before serving
    expect(await missing(journaled)).toEqual([]);
    expect(readdirSync(journal).filter((name) => name.endsWith('.jsonl'))).toEqual([]);
    console.log(
      `crash during outage drill: ${journaled.length} answers with PHI, ${(await missing(journaled)).length} without an event after restart`,
    );
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  });
});
