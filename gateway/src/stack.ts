import { applyMigrations, type Database, isEmpty, openDatabase, seedDatabase } from '@healthgraph/db';
import { type Config, internalTokenKey, type Listening, type Subgraph } from '@healthgraph/kit';
import { createAppointmentsSubgraph } from '@healthgraph/appointments/server';
import { createPatientsSubgraph } from '@healthgraph/patients/server';
import { createProvidersSubgraph } from '@healthgraph/providers/server';
import { createRecordsSubgraph } from '@healthgraph/records/server';
import type { SubgraphName } from './compose.js';
import { createGateway } from './server.js';

export interface StackOptions {
  config: Config;
  /** An open database to serve; when absent one is opened from the configuration. */
  db?: Database;
  /** Seed an empty database with this many patients (0: never seed). */
  seedPatients?: number;
  /** Listen on free ports instead of the configured ones (tests). */
  ephemeralPorts?: boolean;
  /** Per-subgraph override of DataLoader batching (tests compare both). */
  batching?: boolean;
}

export interface Stack {
  db: Database;
  gatewayUrl: string;
  subgraphUrls: Record<SubgraphName, string>;
  /** Stops one subgraph (to exercise partial failure). */
  stopSubgraph(name: SubgraphName): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs the four subgraphs and the gateway in one process over one database: the zero-setup
 * development default (embedded PGlite allows a single process) and the end-to-end test harness.
 * Production runs each subgraph and the gateway as its own process (see README, Deploying).
 */
export async function startStack({ config, db: given, seedPatients = config.seedPatients, ephemeralPorts = false, batching = config.batching }: StackOptions): Promise<Stack> {
  const db = given ?? (await openDatabase({ url: config.databaseUrl, dataDir: config.pgliteDir }));
  const closers: (() => Promise<void>)[] = [];
  try {
    await applyMigrations(db.adapterFactory);
    if (seedPatients > 0 && (await isEmpty(db.prisma))) await seedDatabase(db.prisma, { patients: seedPatients });
    const shared = { prisma: db.prisma, tokenKey: internalTokenKey(config.subgraphTokenSecret), batching, development: config.env === 'development' };
    const subgraphs: Record<SubgraphName, Subgraph> = {
      patients: createPatientsSubgraph(shared),
      providers: createProvidersSubgraph(shared),
      appointments: createAppointmentsSubgraph(shared),
      records: createRecordsSubgraph(shared),
    };
    const listening = {} as Record<SubgraphName, Listening>;
    for (const name of Object.keys(subgraphs) as SubgraphName[]) {
      listening[name] = await subgraphs[name].listen(ephemeralPorts ? 0 : config.ports[name], config.host);
      closers.push(() => listening[name].close());
    }
    const subgraphUrls = Object.fromEntries(Object.entries(listening).map(([name, l]) => [name, `${l.url}/graphql`])) as Record<SubgraphName, string>;
    const gateway = await createGateway({ config, subgraphUrls }).listen(ephemeralPorts ? 0 : config.ports.gateway, config.host);
    closers.unshift(() => gateway.close());
    const stopped = new Set<SubgraphName>();
    return {
      db,
      gatewayUrl: `${gateway.url}/graphql`,
      subgraphUrls,
      async stopSubgraph(name) {
        if (stopped.has(name)) return;
        stopped.add(name);
        await listening[name].close();
      },
      async close() {
        await Promise.all(closers.map((close, i) => (i > 0 && stopped.has(Object.keys(listening)[i - 1] as SubgraphName) ? undefined : close())));
        if (!given) await db.close();
      },
    };
  } catch (error) {
    await Promise.allSettled(closers.map((close) => close()));
    if (!given) await db.close();
    throw error;
  }
}
