/**
 * `npm run bench:cache -- [--requests N] [--patients P]`: a clinician's chart reads, repeated over
 * their care team, with the role-scoped cache on and off, side by side on the same database.
 * Requests alternate between the two stacks so a noisy machine weighs on both alike. Reports
 * latency, SQL statements per request and the cache's hit rate per data class. It measures; it
 * asserts nothing.
 */
import './production-mode.js';
import { parseArgs } from 'node:util';
import { applyMigrations, isEmpty, openDatabase, SEEDED, seedDatabase } from '@healthgraph/db';
import { loadStackConfig as loadConfig, mintDevToken, startStack } from '@healthgraph/stack';
import { quantile as nearestRank } from './report.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '2000' }, patients: { type: 'string', default: '2000' } } });
const requests = Number(values.requests);
const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
const db = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : 'memory://' });
await applyMigrations(db.adapterFactory);
if (await isEmpty(db.prisma)) await seedDatabase(db.prisma, { patients: Number(values.patients) });

const prefix = `bench-${process.pid}`;
const cached = await startStack({
  config,
  db,
  seedPatients: 0,
  ephemeralPorts: true,
  cache: { ...config.cache, enabled: true },
  redis: { ...config.redis, prefix },
});
const uncached = await startStack({ config, db, seedPatients: 0, ephemeralPorts: true, cache: { ...config.cache, enabled: false } });
const team = (
  await db.prisma.careTeamMember.findMany({ where: { providerId: SEEDED.clinician, periodEnd: null }, select: { patientId: true } })
).map((m) => m.patientId);
const token = await mintDevToken(config.jwt, { role: 'CLINICIAN', sub: SEEDED.clinician });
const CHART = `query Chart($id: ID!) { patient(id: $id) { name { text } birthDate bloodType allergies { code { display } } medications { code { display } }
  conditions { code { display } } vitals(last: 5) { value unit } appointments(first: 5) { edges { node { start status } } } } }`;

let statements = 0;
db.onQuery((sql) => {
  if (!sql.includes('"AuditEvent"')) statements++;
});
async function read(url: string, id: string): Promise<{ ms: number; statements: number }> {
  const before = statements;
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: CHART, variables: { id } }),
  });
  const body = (await response.json()) as { errors?: unknown };
  if (body.errors) throw new Error(`unexpected errors: ${JSON.stringify(body.errors)}`);
  return { ms: performance.now() - started, statements: statements - before };
}

// Warm-up: connections, query plans, JIT; then count from zero.
for (const id of team) {
  await read(cached.gatewayUrl, id);
  await read(uncached.gatewayUrl, id);
}
for (const counters of Object.values(cached.cache!.stats)) Object.assign(counters, { hits: 0, misses: 0 });

const samples = { on: [] as number[], off: [] as number[] };
const sql = { on: 0, off: 0 };
for (let i = 0; i < requests; i++) {
  const id = team[i % team.length]!;
  const order = i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
  for (const which of order) {
    const result = await read(which === 'on' ? cached.gatewayUrl : uncached.gatewayUrl, id);
    samples[which].push(result.ms);
    sql[which] += result.statements;
  }
}

const quantile = (xs: number[], q: number) =>
  nearestRank(
    [...xs].sort((a, b) => a - b),
    q,
  );
const row = (name: string, xs: number[], statementsPerRequest: number) =>
  `| ${name} | ${quantile(xs, 0.5).toFixed(2)} | ${quantile(xs, 0.95).toFixed(2)} | ${quantile(xs, 0.99).toFixed(2)} | ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)} | ${statementsPerRequest.toFixed(2)} |`;
console.log(
  `\n${requests} chart reads per variant over ${team.length} care-team patients, ${db.kind}${config.redis.url ? ' + Redis' : ''}, interleaved\n`,
);
console.log('| cache | p50 ms | p95 ms | p99 ms | mean ms | SQL statements / request |\n| --- | --- | --- | --- | --- | --- |');
console.log(row('on', samples.on, sql.on / requests));
console.log(row('off', samples.off, sql.off / requests));
console.log(`\nmedian latency ratio off/on: ${(quantile(samples.off, 0.5) / quantile(samples.on, 0.5)).toFixed(2)}x`);
console.log('\n| data class | hits | misses | hit rate |\n| --- | --- | --- | --- |');
for (const [dataClass, { hits, misses }] of Object.entries(cached.cache!.stats)) {
  if (hits + misses > 0) console.log(`| ${dataClass} | ${hits} | ${misses} | ${((100 * hits) / (hits + misses)).toFixed(1)}% |`);
}
await cached.close();
await uncached.close();
await db.close();
