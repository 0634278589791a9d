import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEEDED } from '@healthgraph/db';
import { mintDevToken } from '@healthgraph/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';
import { type RunningProcess, startProcess } from './helpers/process.js';
import { testConfig } from './helpers/stack.js';

/**
 * Replicas as production runs them, on one machine: two gateway processes and two processes of each
 * subgraph over one PostgreSQL and one Redis, with HAProxy in front of every pair (health-checked
 * on /ready, as a Kubernetes Service with readiness probes would be). What one replica learns
 * (an APQ, a booking) every other knows on the next request, and killing a replica of each subgraph
 * under load costs only the requests it was serving at that moment.
 */

const BASE = process.env.DATABASE_URL;
const REDIS = process.env.REDIS_URL;
const HAPROXY = spawnSync('haproxy', ['-v'], { encoding: 'utf8' }).status === 0;
if (!BASE || !REDIS)
  console.warn('DATABASE_URL or REDIS_URL is not set: the replica tests (processes over one PostgreSQL and one Redis) are skipped.');
else if (!HAPROXY)
  console.warn('haproxy is not installed (apt-get install -y haproxy): the replica tests behind a load balancer are skipped.');

const SUBGRAPHS = ['patients', 'providers', 'appointments', 'records'] as const;
const config = testConfig();
const PREFIX = `hg-replicas-${process.pid}`;
const CHART = `query Chart($id: ID!) { patient(id: $id) { id name { text } careTeam { name { text } } allergies { id code { display } }
  appointments(first: 3) { edges { node { id start provider { name { text } } } } } } }`;

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const portOf = (url: string) => Number(new URL(url).port);

describe.skipIf(!BASE || !REDIS || !HAPROXY)('replicas behind a load balancer', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const processes: RunningProcess[] = [];
  const replicas = {} as Record<(typeof SUBGRAPHS)[number], RunningProcess[]>;
  let gateways: RunningProcess[] = [];
  let haproxy: ReturnType<typeof spawn> | undefined;
  let haproxyLog = '';
  let balanced = ''; // the gateways' frontend
  let team: string[] = [];
  const tokens: Record<string, string> = {};

  const common = () => ({
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    REDIS_URL: REDIS,
    CACHE_PREFIX: PREFIX,
    SUBGRAPH_TOKEN_SECRET: config.subgraphTokenSecret,
    AUDIT_JOURNAL_DIR: mkdtempSync(join(tmpdir(), 'hg-replica-journal-')),
  });

  beforeAll(async () => {
    db = await createTestDatabase({ patients: 30 });
    team = (await db.prisma.careTeamMember.findMany({ where: { providerId: SEEDED.clinician }, select: { patientId: true } })).map(
      (m) => m.patientId,
    );

    // Two processes of every subgraph, all starting at once.
    await Promise.all(
      SUBGRAPHS.map(async (name) => {
        replicas[name] = await Promise.all(
          [0, 1].map(() =>
            startProcess(
              `subgraphs/${name}/dist/index.js`,
              { ...common(), [`${name.toUpperCase()}_PORT`]: '0' },
              new RegExp(`Subgraph ${name} ready at (\\S+)`),
            ),
          ),
        );
        processes.push(...replicas[name]);
      }),
    );

    // HAProxy: one frontend per subgraph and one for the gateways. A server is taken out at its first
    // refused connection or after two failed /ready checks; a request whose connection is refused
    // goes to the other server (nothing was sent, so retrying it is safe for writes too). Requests
    // already sent are never replayed.
    const fronts = Object.fromEntries(await Promise.all([...SUBGRAPHS, 'gateway'].map(async (name) => [name, await freePort()] as const)));
    const backend = (name: string, servers: string[]) => `
frontend ${name}
  bind 127.0.0.1:${fronts[name]}
  default_backend ${name}_servers
backend ${name}_servers
  balance roundrobin
  option httpchk GET /ready
  default-server inter 500ms fall 2 rise 1
${servers.map((url, i) => `  server ${name}${i} 127.0.0.1:${portOf(url)} check`).join('\n')}
`;
    const writeConfig = (gatewayUrls: string[]) => {
      const dir = mkdtempSync(join(tmpdir(), 'hg-haproxy-'));
      const path = join(dir, 'haproxy.cfg');
      writeFileSync(
        path,
        `global
  maxconn 2000
  log stderr format raw local0 info
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  # A check must not fail a busy server: only one that is gone.
  timeout check 5s
  # A refused connection is tried again on the other server (nothing was sent: safe for writes).
  retries 3
  option redispatch 1
  # A fresh server connection per request: a request is never sent on a kept-alive connection that
  # a dead server left behind (HAProxy would then close the client's connection unanswered, as a
  # server may close a kept-alive one), so a dead replica only ever refuses connections, and those retry.
  option http-server-close
${SUBGRAPHS.map((name) =>
  backend(
    name,
    replicas[name].map((r) => r.url),
  ),
).join('')}
${gatewayUrls.length ? backend('gateway', gatewayUrls) : ''}`,
      );
      return path;
    };

    // The gateways find the subgraphs through HAProxy.
    const subgraphUrls = Object.fromEntries(
      SUBGRAPHS.map((name) => [`${name.toUpperCase()}_URL`, `http://127.0.0.1:${fronts[name]}/graphql`]),
    );
    // HAProxy first (subgraphs only), so the gateways can load; then again with the gateways.
    const startHaproxy = (path: string) => {
      const child = spawn('haproxy', ['-db', '-f', path], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (chunk) => (haproxyLog += chunk));
      child.stderr!.on('data', (chunk) => (haproxyLog += chunk));
      return child;
    };
    haproxy = startHaproxy(writeConfig([]));
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${fronts.patients}/ready`).catch(() => undefined))?.ok === true,
      'HAProxy in front of the subgraphs',
    );
    gateways = await Promise.all(
      [0, 1].map(() =>
        startProcess('gateway/dist/index.js', {
          ...common(),
          ...subgraphUrls,
          GATEWAY_PORT: '0',
          JWT_SECRET: config.jwt.secret,
          PQ_MODE: 'log_unknown',
        }),
      ),
    );
    processes.push(...gateways);
    haproxy.kill('SIGTERM');
    await new Promise((resolve) => haproxy!.once('exit', resolve));
    haproxy = startHaproxy(writeConfig(gateways.map((g) => g.url)));
    balanced = `http://127.0.0.1:${fronts.gateway}/graphql`;
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${fronts.gateway}/ready`).catch(() => undefined))?.ok === true,
      'HAProxy in front of the gateways',
    );

    tokens.clinician = await mintDevToken(config.jwt, { role: 'CLINICIAN', sub: SEEDED.clinician });
    tokens.patient = await mintDevToken(config.jwt, { role: 'PATIENT', sub: SEEDED.patient });
  }, 240_000);

  afterAll(async () => {
    haproxy?.kill('SIGKILL');
    for (const running of processes) running.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await db?.close();
  });

  async function waitFor(check: () => Promise<boolean>, what: string, ms = 20_000) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${what} did not come up within ${ms} ms:\n${haproxyLog}`);
  }

  async function post(url: string, token: string, body: unknown) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] } };
  }

  it('an APQ registered through one gateway is served by the other', async () => {
    const query = `query ApqReplica { patient(id: "${SEEDED.patient}") { id name { text } } }`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const [a, b] = gateways.map((g) => g.url) as [string, string];
    // Unknown everywhere at first.
    expect((await post(b, tokens.patient!, { extensions })).body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await post(a, tokens.patient!, { query, extensions });
    expect(registered.body.errors).toBeUndefined();
    const served = await post(b, tokens.patient!, { extensions });
    expect(served.body.errors).toBeUndefined();
    expect(served.body.data.patient.id).toBe(SEEDED.patient);
  });

  it('a booking through one gateway is seen at once through the other, from every appointments replica', async () => {
    const [a, b] = gateways.map((g) => g.url) as [string, string];
    const list = `query Mine { me { appointments(first: 100) { edges { node { id start } } } } }`;
    // Both appointments replicas (round robin behind HAProxy) hold the list in their caches.
    for (let i = 0; i < 4; i++)
      for (const url of [a, b]) expect((await post(url, tokens.patient!, { query: list })).body.errors).toBeUndefined();
    const from = new Date(Date.now() + 2 * 86_400_000);
    const slots = await post(a, tokens.patient!, {
      query: `query Slots($from: DateTime!, $to: DateTime!) { provider(id: "${SEEDED.clinician}") { availableSlots(from: $from, to: $to) { start } } }`,
      variables: { from: from.toISOString(), to: new Date(from.getTime() + 14 * 86_400_000).toISOString() },
    });
    const start = slots.body.data.provider.availableSlots.at(-1).start as string;
    const booked = await post(a, tokens.patient!, {
      query: `mutation Book($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }`,
      variables: { input: { patientId: SEEDED.patient, providerId: SEEDED.clinician, start, idempotencyKey: `replicas-${process.pid}` } },
    });
    expect(booked.body.errors).toBeUndefined();
    const id = booked.body.data.bookAppointment.id as string;
    // The very next reads, through the other gateway and each appointments replica in turn.
    for (let i = 0; i < 4; i++) {
      const seen = await post(b, tokens.patient!, { query: list });
      expect(seen.body.errors).toBeUndefined();
      expect(
        seen.body.data.me.appointments.edges.map((e: { node: { id: string } }) => e.node.id),
        `read ${i + 1}`,
      ).toContain(id);
    }
  });

  it('killing one replica of every subgraph under load costs only the requests it had in flight', async () => {
    const concurrency = 8;
    const duration = 6_000;
    const killAfter = 2_500;
    const results: { started: number; ended: number; ok: boolean; code?: string }[] = [];
    const began = performance.now();
    let killedAt = Number.POSITIVE_INFINITY;
    let diedAt = Number.POSITIVE_INFINITY;
    let inFlightAtKill = 0;
    let inFlight = 0;
    const worker = async (w: number) => {
      let i = w;
      while (performance.now() - began < duration) {
        const started = performance.now();
        inFlight++;
        let ok = false;
        let code: string | undefined;
        try {
          const { status, body } = await post(balanced, tokens.clinician!, { query: CHART, variables: { id: team[i % team.length] } });
          ok = status === 200 && !body.errors && Boolean(body.data?.patient?.name);
          code = body.errors?.[0]
            ? `${body.errors[0].extensions?.code} (${(body.errors[0] as { message?: string }).message})`
            : ok
              ? undefined
              : String(status);
        } catch (error) {
          code = (error as Error).message;
        }
        inFlight--;
        results.push({ started, ended: performance.now(), ok, code });
        i += concurrency;
      }
    };
    const kill = new Promise<void>((resolve) =>
      setTimeout(() => {
        killedAt = performance.now();
        inFlightAtKill = inFlight;
        for (const name of SUBGRAPHS) replicas[name][0]!.child.kill('SIGKILL');
        // A signal is delivered, and a process dies, a moment after kill() returns: until then it still takes requests.
        void Promise.all(SUBGRAPHS.map((name) => replicas[name][0]!.exited)).then(() => {
          diedAt = performance.now();
        });
        resolve();
      }, killAfter),
    );
    await Promise.all([kill, ...Array.from({ length: concurrency }, (_, w) => worker(w))]);
    await Promise.all(SUBGRAPHS.map((name) => replicas[name][0]!.exited));

    const failed = results.filter((r) => !r.ok);
    // HAProxy's log of every request it passed: those on a killed replica that did not end normally
    // (termination state other than ----: cut off mid-request) were in flight on it; anything else
    // that did not end normally, or any server error elsewhere, would be a cost beyond those.
    const logged = [...haproxyLog.matchAll(/ (\w+)_servers\/(\w+) \S+ (-?\d+) \d+ \S+ \S+ (\S{4}) /g)].map((m) => ({
      server: m[2]!,
      status: Number(m[3]),
      termination: m[4]!,
    }));
    const killedServers = new Set(SUBGRAPHS.map((name) => `${name}0`));
    const abnormal = (l: (typeof logged)[number]) => l.termination !== '----' || l.status >= 500 || l.status < 0;
    const cut = logged.filter((l) => killedServers.has(l.server) && abnormal(l));
    const otherErrors = logged.filter((l) => abnormal(l) && !cut.includes(l));
    if (otherErrors.length)
      console.log(
        haproxyLog
          .split('\n')
          .filter((line) => /_servers\//.test(line) && !/ ---- /.test(line))
          .join('\n'),
      );
    const after = results.filter((r) => r.started > diedAt);
    console.log(
      `replica kill under load: ${results.length} requests (${after.length} after the kill), ${failed.length} failed, ` +
        `${results.filter((r) => r.started < diedAt && r.ended > killedAt).length} in flight while they died, ` +
        `${cut.length} subgraph requests HAProxy saw cut off on the killed replicas, ${otherErrors.length} server errors elsewhere ` +
        `(${inFlightAtKill} in flight when 4 subgraph replicas were killed, dead ${Math.round(diedAt - killedAt)} ms later): ` +
        `${[...new Set(failed.map((f) => f.code))].join('; ') || 'none'}`,
    );
    expect(after.length).toBeGreaterThan(20);
    // Only requests that were running while the replicas died may fail (started before their death
    // was seen, still unanswered when the signal went), nothing was refused for want of a server or
    // failed on a surviving one, and nothing started after their death failed.
    const inFlightWhileDying = results.filter((r) => r.started < diedAt && r.ended > killedAt);
    expect(logged.length).toBeGreaterThan(results.length);
    expect(otherErrors).toEqual([]);
    for (const f of failed) {
      expect(f.started, `a request started ${Math.round(f.started - diedAt)} ms after the replicas died failed`).toBeLessThan(diedAt);
      expect(f.ended, 'a request that had ended before the kill').toBeGreaterThan(killedAt);
    }
    expect(failed.length).toBeLessThanOrEqual(inFlightWhileDying.length);
    // The survivors answered everything since: the other replicas carry the load.
    expect(after.every((r) => r.ok)).toBe(true);
  }, 60_000);
});
