import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from './generated/prisma/client.js';
import { localWalPositions, type ReadRoutingOptions, routeReads } from './read-replica.js';

/**
 * Counts the SQL statements of whatever runs inside `statementScope.run({ statements: 0 }, ...)`,
 * such as one subgraph request, for the statements-per-request metric.
 */
export const statementScope = new AsyncLocalStorage<{ statements: number }>();

/** Where the embedded database lives when no DATABASE_URL is given (ignored by git). */
export const DEFAULT_PGLITE_DIR = fileURLToPath(new URL('../../.data/pglite', import.meta.url));

export interface DatabaseOptions {
  /** A PostgreSQL connection string. When absent, embedded PGlite is used. */
  url?: string;
  /** PGlite data folder; `memory://` for a throw-away database. Ignored when `url` is set. */
  dataDir?: string;
  /** Connection pool size for PostgreSQL. */
  poolSize?: number;
  /**
   * A streaming replica of `url` (DATABASE_REPLICA_URL): plain reads go to it once it has replayed
   * every write published in `routing.positions`; writes, transactions and audit go to `url`.
   */
  replicaUrl?: string;
  /** How reads are routed to the replica; positions default to this process's own (right for one process only). */
  routing?: Partial<ReadRoutingOptions>;
}

/** One open database: a shared Prisma client plus a way to observe every SQL statement. */
export interface Database {
  kind: 'postgresql' | 'pglite';
  /** Reads and writes; with a replica, plain reads go to it when it is fresh enough. */
  prisma: PrismaClient;
  /** The primary alone, for the audit trail (appends that no read waits for); `prisma` itself without a replica. */
  primary: PrismaClient;
  /** Whether plain reads may go to a replica. */
  replicated: boolean;
  adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  /** Subscribes to every SQL statement the client sends (with its parameters as JSON text); returns the unsubscribe function. */
  onQuery(listener: (sql: string, params: string) => void): () => void;
  close(): Promise<void>;
}

/**
 * Settings of every PostgreSQL session this product opens, unless the URL's own `options` parameter
 * replaces them. JIT compilation off: it is for long analytic queries, and it starts on estimated
 * cost alone, so a search whose plan is costed high (but reads a few dozen rows) spent 45 ms
 * compiling to run for 5 (scale bench, a million patients).
 */
export const SESSION_OPTIONS = '-c jit=off';

/** Opens PostgreSQL through @prisma/adapter-pg when a URL is given, embedded PGlite otherwise. */
export async function openDatabase({
  url,
  dataDir = DEFAULT_PGLITE_DIR,
  poolSize = 10,
  replicaUrl,
  routing,
}: DatabaseOptions = {}): Promise<Database> {
  let adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  let clientFactory: SqlMigrationAwareDriverAdapterFactory;
  let primary: PrismaClient | undefined;
  let closeDriver: () => Promise<void>;
  let kind: Database['kind'];
  if (replicaUrl && !url) throw new RangeError('a read replica needs the primary PostgreSQL URL as well');
  if (url) {
    kind = 'postgresql';
    adapterFactory = new PrismaPg({ connectionString: url, max: poolSize, options: SESSION_OPTIONS });
    clientFactory = adapterFactory;
    closeDriver = async () => {};
    if (replicaUrl) {
      // A replica that does not answer must not hold a read up: it is asked with a short connect timeout and the primary answers instead.
      // query_timeout: a replica that hangs mid-query (a partition) fails the read over to the primary instead of holding it.
      const replica = new PrismaPg({
        connectionString: replicaUrl,
        max: poolSize,
        options: SESSION_OPTIONS,
        connectionTimeoutMillis: 1_000,
        query_timeout: 5_000,
      });
      clientFactory = routeReads(adapterFactory, replica, { positions: localWalPositions(), ...routing });
      primary = new PrismaClient({
        adapter: new PrismaPg({ connectionString: url, max: Math.max(2, Math.ceil(poolSize / 4)), options: SESSION_OPTIONS }),
      });
    }
  } else {
    kind = 'pglite';
    if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
    // pg_trgm backs the name-search indexes (migration name_search_trigram): PGlite loads contrib extensions only when asked.
    const pglite = await PGlite.create(dataDir, { extensions: { pg_trgm } });
    adapterFactory = new PrismaPGlite(pglite);
    clientFactory = adapterFactory;
    closeDriver = () => pglite.close();
  }
  const listeners = new Set<(sql: string, params: string) => void>();
  const prisma = new PrismaClient({ adapter: clientFactory, log: [{ emit: 'event', level: 'query' }] });
  prisma.$on('query', (event) => {
    const scope = statementScope.getStore();
    if (scope) scope.statements++;
    for (const listener of listeners) listener(event.query, event.params);
  });
  return {
    kind,
    prisma,
    primary: primary ?? prisma,
    replicated: primary !== undefined,
    adapterFactory,
    onQuery(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      await prisma.$disconnect();
      await primary?.$disconnect();
      await closeDriver();
    },
  };
}
