import { openDatabase, applyMigrations } from '@healthgraph/db';
import { loadConfig, type Config } from './config.js';
import { internalTokenKey, type InternalTokenKey } from './internal-token.js';
import type { Subgraph } from './subgraph.js';
import type { PrismaClient } from '@healthgraph/db';

type SubgraphName = keyof Config['subgraphUrls'];

/**
 * Runs one subgraph as its own process (how production deploys them): reads the configuration,
 * connects to DATABASE_URL, listens on the subgraph's port and drains on SIGTERM/SIGINT.
 */
export async function runSubgraph(
  name: SubgraphName,
  create: (options: { prisma: PrismaClient; tokenKey: InternalTokenKey; batching: boolean; development: boolean }) => Subgraph,
): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.pgliteDir });
  if (db.kind === 'pglite') await applyMigrations(db.adapterFactory);
  const subgraph = create({
    prisma: db.prisma,
    tokenKey: internalTokenKey(config.subgraphTokenSecret),
    batching: config.batching,
    development: config.env === 'development',
  });
  const listening = await subgraph.listen(config.ports[name], config.host);
  console.log(`Subgraph ${name} ready at ${listening.url}/graphql`);
  const stop = async () => {
    await listening.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}
