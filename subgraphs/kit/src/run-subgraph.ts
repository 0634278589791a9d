import { applyMigrations } from '@healthgraph/db';
import { internalTokenKey, logger, openAuditLog, openServiceDatabase, runProcess, startTracing } from '@healthgraph/platform';
import { openCache } from './cache.js';
import { loadSubgraphConfig } from './config.js';
import type { Subgraph, SubgraphDeps } from './subgraph.js';

export type SubgraphName = 'patients' | 'providers' | 'appointments' | 'records';

/**
 * Runs one subgraph as its own process (how production deploys them): reads its configuration,
 * connects to DATABASE_URL, listens on the subgraph's port and, on SIGTERM/SIGINT, drains, writes
 * the last audit events and exits.
 */
export function runSubgraph(name: SubgraphName, create: (deps: SubgraphDeps) => Subgraph): Promise<void> {
  return runProcess(async () => {
    const config = loadSubgraphConfig();
    logger.level = config.logLevel;
    const stopTracing = startTracing({ serviceName: `healthgraph-${name}`, endpoint: config.tracingEndpoint });
    const db = await openServiceDatabase(config);
    if (db.kind === 'pglite') await applyMigrations(db.adapterFactory);
    const audit = await openAuditLog(db.primary, config, name);
    const cache = await openCache(config);
    const subgraph = create({
      prisma: db.prisma,
      audit,
      cache,
      tokenKey: internalTokenKey(config.subgraphTokenSecret),
      batching: config.batching,
      development: config.env === 'development',
      shutdown: config.shutdown,
    });
    const listening = await subgraph.listen(config.ports[name], config.host);
    console.log(`Subgraph ${name} ready at ${listening.url}/graphql`);
    return {
      async close() {
        await listening.close();
        await audit.close();
        await cache?.close();
        await db.close();
        await stopTracing();
      },
    };
  });
}
