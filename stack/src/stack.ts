import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createAppointmentsSubgraph } from '@healthgraph/appointments';
import { applyMigrations, type Database, DEFAULT_PGLITE_DIR, isEmpty, printSeedProgress, seedDatabase } from '@healthgraph/db';
import { createGateway } from '@healthgraph/gateway';
import type { SubgraphName } from '@healthgraph/gateway/compose';
import { openCache, type Policy, type ScopedCache, type Subgraph, type SubgraphConfig } from '@healthgraph/kit';
import { createPatientsSubgraph } from '@healthgraph/patients';
import {
  type AuditLog,
  internalTokenKey,
  type Listening,
  type Logger,
  openAuditLog,
  openServiceDatabase,
  type PlatformConfig,
  type Principal,
} from '@healthgraph/platform';
import { createProvidersSubgraph } from '@healthgraph/providers';
import { createRecordsSubgraph } from '@healthgraph/records';
import type { StackConfig } from './config.js';

export interface StackOptions {
  config: StackConfig;
  /** An open database to serve; when absent one is opened from the configuration. */
  db?: Database;
  /** Seed an empty database with this many patients (0: never seed). */
  seedPatients?: number;
  /** Listen on free ports instead of the configured ones (tests). */
  ephemeralPorts?: boolean;
  /** Override of DataLoader batching (tests compare both). */
  batching?: boolean;
  /** Override of the cache configuration (tests switch it off). */
  cache?: SubgraphConfig['cache'];
  /** Override of the Redis configuration (tests point it at their own Redis or key space). */
  redis?: PlatformConfig['redis'];
  /** Where every service's log lines go (the process logger by default). */
  log?: Logger;
  /** Walls to take away, one at a time, in tests that show the others hold (defence in depth). */
  walls?: Walls;
  /** Where the steps that take time (creating, migrating, seeding) are reported as they happen; nowhere by default. */
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The independent walls between a caller and data it may not see; all up, except in tests that take one away. */
export interface Walls {
  /** The gateway removes fields the caller's scopes do not cover, before planning. */
  gatewayFieldRules?: boolean;
  /** Each subgraph enforces the same field rules on its resolvers. */
  subgraphFieldRules?: boolean;
  /** The data layer asks this policy (the real one unless a test replaces it). */
  policy?: (principal: Principal) => Policy;
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
  config: SubgraphConfig;
  db: Database;
  /** Listen on free ports instead of the configured ones. */
  ephemeralPorts?: boolean;
  batching?: boolean;
  cache?: SubgraphConfig['cache'];
  redis?: PlatformConfig['redis'];
  /** Where the set's audit events are written (one writer per process). */
  audit: AuditLog;
  log?: Logger;
  walls?: Walls;
}

export interface SubgraphSet {
  cache: ScopedCache | undefined;
  subgraphUrls: Record<SubgraphName, string>;
  stopSubgraph(name: SubgraphName): Promise<void>;
  close(): Promise<void>;
}

/** The four subgraphs over one database, listening; the gateway is started separately. */
export async function startSubgraphs({
  config,
  db,
  ephemeralPorts = false,
  batching = config.batching,
  cache: cacheConfig = config.cache,
  redis = config.redis,
  audit,
  log,
  walls = {},
}: SubgraphSetOptions): Promise<SubgraphSet> {
  const listening: Partial<Record<SubgraphName, Listening>> = {};
  const stopped = new Set<SubgraphName>();
  let cache: ScopedCache | undefined;
  const close = async () => {
    await Promise.all(
      (Object.keys(listening) as SubgraphName[]).filter((name) => !stopped.has(name)).map((name) => listening[name]!.close()),
    );
    await cache?.close();
  };
  try {
    cache = await openCache({ cache: cacheConfig, redis });
    const shared = {
      prisma: db.prisma,
      audit,
      cache,
      log,
      tokenKey: internalTokenKey(config.subgraphTokenSecret),
      batching,
      development: config.env === 'development',
      policy: walls.policy,
      fieldRules: walls.subgraphFieldRules ?? true,
      shutdown: config.shutdown,
    };
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
      subgraphUrls: Object.fromEntries(Object.entries(listening).map(([name, l]) => [name, `${l.url}/graphql`])) as Record<
        SubgraphName,
        string
      >,
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
export async function startStack({
  config: base,
  db: given,
  seedPatients = base.seedPatients,
  ephemeralPorts = false,
  batching = base.batching,
  cache = base.cache,
  redis = base.redis,
  log,
  walls = {},
  progress,
}: StackOptions): Promise<Stack> {
  const config: StackConfig = { ...base, cache, redis };
  const say = (line: string) => progress?.write(`${line}\n`);
  const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
  let step = performance.now();
  const dataDir = config.pgliteDir ?? DEFAULT_PGLITE_DIR;
  const creating = !given && !config.databaseUrl && !dataDir.startsWith('memory://') && !existsSync(join(dataDir, 'PG_VERSION'));
  const shownDir = relative(process.cwd(), dataDir);
  if (creating) say(`Creating the embedded database in ${shownDir.startsWith('..') || !shownDir ? dataDir : shownDir}...`);
  const db = given ?? (await openServiceDatabase(config));
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
    const applied = await applyMigrations(db.adapterFactory);
    if (creating || applied.length > 0)
      say(`  ${creating ? 'created and ' : ''}migrated (${applied.length} migrations) in ${seconds(step)}`);
    if (seedPatients > 0 && (await isEmpty(db.prisma))) {
      say(`The database is empty: seeding ${seedPatients.toLocaleString('en-US')} patients with their records (only this once)...`);
      step = performance.now();
      await seedDatabase(db.prisma, { patients: seedPatients, onProgress: progress ? printSeedProgress(progress) : undefined });
      say(`  seeded in ${seconds(step)}`);
    }
    audit = await openAuditLog(db.primary, config, 'stack');
    subgraphs = await startSubgraphs({ config, db, ephemeralPorts, batching, audit, log, walls });
    gateway = await createGateway({
      config,
      subgraphUrls: subgraphs.subgraphUrls,
      audit,
      log,
      enforceFieldRules: walls.gatewayFieldRules ?? true,
    }).listen(ephemeralPorts ? 0 : config.ports.gateway, config.host);
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
