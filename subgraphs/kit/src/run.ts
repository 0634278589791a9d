import { openDatabase, applyMigrations } from '@healthgraph/db';
import { loadConfig, type Config } from './config.js';
import { internalTokenKey } from './internal-token.js';
import { join } from 'node:path';
import { AuditLog } from './audit.js';
import { openCache } from './cache.js';
import { stopOnSignals } from './http.js';
import { startTracing } from './tracing.js';
import type { Subgraph, SubgraphDeps } from './subgraph.js';

type SubgraphName = keyof Config['subgraphUrls'];

/**
 * Runs one subgraph as its own process (how production deploys them): reads the configuration,
 * connects to DATABASE_URL, listens on the subgraph's port and drains on SIGTERM/SIGINT.
 */
export async function runSubgraph(
  name: SubgraphName,
  create: (deps: SubgraphDeps) => Subgraph,
): Promise<void> {
  const config = loadConfig();
  const stopTracing = startTracing({ serviceName: `healthgraph-${name}`, endpoint: config.tracingEndpoint });
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.pgliteDir });
  if (db.kind === 'pglite') await applyMigrations(db.adapterFactory);
  const audit = new AuditLog(db.prisma, { spillPath: join(config.auditSpillDir, `audit-spill-${name}.jsonl`) });
  await audit.replaySpill();
  const cache = await openCache(config.cache);
  const subgraph = create({
    prisma: db.prisma,
    audit,
    cache,
    tokenKey: internalTokenKey(config.subgraphTokenSecret),
    batching: config.batching,
    development: config.env === 'development',
  });
  const listening = await subgraph.listen(config.ports[name], config.host);
  console.log(`Subgraph ${name} ready at ${listening.url}/graphql`);
  stopOnSignals(async () => {
    await listening.close();
    await audit.close();
    await cache?.close();
    await db.close();
    await stopTracing();
  });
}
