/**
 * `npm run bench:persisted -- [--seconds S] [--concurrency C]`: gateway throughput for one trusted
 * operation sent by id versus the same operation sent as full text, side by side: the two
 * alternate in short rounds on the same stack, so a noisy machine weighs on both alike.
 * It measures; it asserts nothing.
 */
import './production-mode.js';
import { parseArgs } from 'node:util';
import { applyMigrations, isEmpty, openDatabase, SEEDED, seedDatabase } from '@healthgraph/db';
import { DEFAULT_MANIFEST_PATH, TrustedOperations } from '@healthgraph/gateway/persisted-queries';
import { loadStackConfig as loadConfig, mintDevToken, startStack } from '@healthgraph/stack';
import { Agent, request } from 'undici';
import { quantile as nearestRank } from './report.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '16' },
    operation: { type: 'string', default: 'PatientChart' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const config = loadConfig({ ...process.env, NODE_ENV: 'test', PQ_MODE: 'safelist' });
const db = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : 'memory://' });
await applyMigrations(db.adapterFactory);
if (await isEmpty(db.prisma)) await seedDatabase(db.prisma, { patients: 500 });
const stack = await startStack({
  config,
  db,
  seedPatients: 0,
  ephemeralPorts: true,
  redis: { ...config.redis, prefix: `bench-pq-${process.pid}` },
});

const manifest = { operations: [...new TrustedOperations(DEFAULT_MANIFEST_PATH).operations] };
const operation = manifest.operations.find((o) => o.name === values.operation)!;
const token = await mintDevToken(config.jwt, { role: 'CLINICIAN', sub: SEEDED.clinician });
const variables = { id: SEEDED.patient };
const bodies = {
  'by id': JSON.stringify({
    operationName: operation.name,
    variables,
    extensions: { persistedQuery: { version: 1, sha256Hash: operation.id } },
  }),
  'full text': JSON.stringify({ operationName: operation.name, variables, query: operation.body }),
};
const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
const url = new URL(stack.gatewayUrl);

async function round(body: string, ms: number): Promise<{ requests: number; errors: number; latencies: number[] }> {
  const until = performance.now() + ms;
  const latencies: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const response = await request(url, {
          method: 'POST',
          dispatcher,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
        });
        const text = await response.body.text();
        if (response.statusCode !== 200 || text.includes('"errors"')) errors++;
        latencies.push(performance.now() - started);
      }
    }),
  );
  return { requests: latencies.length, errors, latencies };
}

await round(bodies['by id'], 2_000); // warm-up: connections, caches, JIT
await round(bodies['full text'], 2_000);
const totals = {
  'by id': { requests: 0, errors: 0, latencies: [] as number[] },
  'full text': { requests: 0, errors: 0, latencies: [] as number[] },
};
const rounds = Math.max(2, Math.round(seconds / 2));
for (let i = 0; i < rounds; i++) {
  for (const variant of (i % 2 === 0 ? ['by id', 'full text'] : ['full text', 'by id']) as (keyof typeof bodies)[]) {
    const result = await round(bodies[variant], 1_000);
    totals[variant].requests += result.requests;
    totals[variant].errors += result.errors;
    totals[variant].latencies.push(...result.latencies);
  }
}
const quantile = (xs: number[], q: number) =>
  nearestRank(
    [...xs].sort((a, b) => a - b),
    q,
  );
console.log(
  `\n${operation.name} as a clinician, ${concurrency} concurrent, ${rounds} alternating 1-second rounds each, ${db.kind}${config.redis.url ? ' + Redis' : ''}\n`,
);
console.log('| sent as | req/s | p50 ms | p99 ms | errors |\n| --- | --- | --- | --- | --- |');
for (const [variant, t] of Object.entries(totals)) {
  console.log(
    `| ${variant} | ${(t.requests / rounds).toFixed(0)} | ${quantile(t.latencies, 0.5).toFixed(2)} | ${quantile(t.latencies, 0.99).toFixed(2)} | ${t.errors} |`,
  );
}
console.log(`\nthroughput ratio by id / full text: ${(totals['by id'].requests / totals['full text'].requests).toFixed(2)}x`);
await dispatcher.close();
await stack.close();
await db.close();
