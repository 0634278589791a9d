import { applyMigrations, type Database, isEmpty, openDatabase, printSeedProgress, seedDatabase } from '@healthgraph/db';
import { join } from 'node:path';
import { AuditLog, type Config, internalTokenKey, type Listening, openCache, type ScopedCache, type Subgraph } from '@healthgraph/kit';
import { createAppointmentsSubgraph } from '@healthgraph/appointments/server';
import { createPatientsSubgraph } from '@healthgraph/patients/server';
import { createProvidersSubgraph } from '@healthgraph/providers/server';
import { createRecordsSubgraph } from '@healthgraph/records/server';
import type { Logger } from 'pino';
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
  /** Override of DataLoader batching (tests compare both). */
  batching?: boolean;
  /** Override of the cache configuration (tests switch it off, or point it at a Redis). */
  cache?: Config['cache'];
  /** Where every service's log lines go (the process logger by default). */
  log?: Logger;
}

export interface Stack {
  db: Database;
  /** The read cache the subgraphs share, when caching is on. */
  cache: ScopedCache | undefined;
  /** The audit writer every service of the stack shares. */
  audit: AuditLog;
  gatewayUrl: string;
  subgraphUrls: Record<SubgraphName, string>;
  /** Stops one subgraph (to exercise partial failure). */
  stopSubgraph(name: SubgraphName): Promise<void>;
  close(): Promise<void>;
}

export interface SubgraphSetOptions {
  config: Config;
  db: Database;
  /** Listen on free ports instead of the configured ones. */
  ephemeralPorts?: boolean;
  batching?: boolean;
  cache?: Config['cache'];
  /** Where the set's audit events are written (one writer per process). */
  audit: AuditLog;
  log?: Logger;
}

export interface SubgraphSet {
  cache: ScopedCache | undefined;
  subgraphUrls: Record<SubgraphName, string>;
  stopSubgraph(name: SubgraphName): Promise<void>;
  close(): Promise<void>;
}

/** The four subgraphs over one database, listening; the gateway is started separately. */
export async function startSubgraphs({ config, db, ephemeralPorts = false, batching = config.batching, cache: cacheConfig = config.cache, audit, log }: SubgraphSetOptions): Promise<SubgraphSet> {
  const listening: Partial<Record<SubgraphName, Listening>> = {};
  const stopped = new Set<SubgraphName>();
  let cache: ScopedCache | undefined;
  const close = async () => {
    await Promise.all((Object.keys(listening) as SubgraphName[]).filter((name) => !stopped.has(name)).map((name) => listening[name]!.close()));
    await cache?.close();
  };
  try {
    cache = await openCache(cacheConfig);
    const shared = { prisma: db.prisma, audit, cache, log, tokenKey: internalTokenKey(config.subgraphTokenSecret), batching, development: config.env === 'development' };
    const subgraphs: Record<SubgraphName, Subgraph> = {
      patients: createPatientsSubgraph(shared),
      providers: createProvidersSubgraph(shared),
      appointments: createAppointmentsSubgraph(shared),
      records: createRecordsSubgraph(shared),
    };
    for (const name of Object.keys(subgraphs) as SubgraphName[]) {
      listening[name] = await subgraphs[name].listen(ephemeralPorts ? 0 : config.ports[name], config.host);
    }
    return {
      cache,
      subgraphUrls: Object.fromEntries(Object.entries(listening).map(([name, l]) => [name, `${l.url}/graphql`])) as Record<SubgraphName, string>,
      async stopSubgraph(name) {
        if (stopped.has(name)) return;
        stopped.add(name);
        await listening[name]?.close();
      },
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

/**
 * Runs the four subgraphs and the gateway in one process over one database: the zero-setup
 * development default (embedded PGlite allows a single process) and the end-to-end test harness.
 * Production runs each subgraph and the gateway as its own process (see README, Deploying).
 */
export async function startStack({ config, db: given, seedPatients = config.seedPatients, ephemeralPorts = false, batching = config.batching, cache, log }: StackOptions): Promise<Stack> {
  const db = given ?? (await openDatabase({ url: config.databaseUrl, dataDir: config.pgliteDir }));
  let subgraphs: SubgraphSet | undefined;
  let gateway: Listening | undefined;
  let audit: AuditLog | undefined;
  // Shutdown order: stop taking requests, let subgraphs finish, write the last audit events, close the database.
  const close = async () => {
    await gateway?.close();
    await subgraphs?.close();
    await audit?.close();
    if (!given) await db.close();
  };
  try {
    await applyMigrations(db.adapterFactory);
    if (seedPatients > 0 && (await isEmpty(db.prisma))) await seedDatabase(db.prisma, { patients: seedPatients, onProgress: printSeedProgress() });
    audit = new AuditLog(db.prisma, { spillPath: join(config.auditSpillDir, 'audit-spill-stack.jsonl') });
    await audit.replaySpill();
    subgraphs = await startSubgraphs({ config, db, ephemeralPorts, batching, cache, audit, log });
    gateway = await createGateway({ config, subgraphUrls: subgraphs.subgraphUrls, audit, log }).listen(ephemeralPorts ? 0 : config.ports.gateway, config.host);
    return {
      db,
      audit,
      cache: subgraphs.cache,
      gatewayUrl: `${gateway.url}/graphql`,
      subgraphUrls: subgraphs.subgraphUrls,
      stopSubgraph: subgraphs.stopSubgraph,
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}
