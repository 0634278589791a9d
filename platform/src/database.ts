import { type Database, openDatabase, type WalPositions } from '@healthgraph/db';
import { ConfigError, type PlatformConfig } from './config.js';
import { logger as processLogger } from './logger.js';
import { counter } from './metrics.js';
import { closeRedis, connectRedis, createRedisClient, type RedisClientType } from './redis.js';
import { withTimeout } from './timeout.js';

/** Longest a read waits for Redis to say where writes got to before it goes to the primary instead. */
const MARK_READ_MS = 100;
/** Longest a write waits to publish its position before it falls back to waiting for the replica itself. */
const MARK_WRITE_MS = 500;

const metrics = {
  reads: counter('healthgraph_db_reads_total', 'Plain SQL reads by where they went (replica, primary) and why', [
    'target',
    'reason',
  ] as const),
  publishFailures: counter(
    'healthgraph_db_position_publish_failures_total',
    'Writes whose WAL position could not be published: other processes may read the replica before it has them (until it catches up)',
  ),
};

/** Sets the key to the larger of its value and the argument; positions are 16 hex digits, so text order is number order. */
const KEEP_HIGHEST = `local current = redis.call('GET', KEYS[1])
if (not current) or current < ARGV[1] then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`;

/**
 * WAL positions shared by every process through Redis, so a write through one replica of a
 * subgraph is seen by the next read through any other. This process's own highest write is kept
 * too. Redis not answering in time, or answering without a mark (restarted empty, the key
 * evicted), makes the position unknown, and unknown sends the read to the primary: never a stale
 * answer.
 */
export function redisWalPositions(client: RedisClientType, prefix: string): WalPositions {
  const key = `${prefix}:wal:written`;
  let ownHighest = 0n;
  return {
    async required() {
      if (!client.isReady) return undefined;
      const shared = await withTimeout(client.get(key), MARK_READ_MS, 'Redis').catch(() => undefined);
      if (shared === undefined) return undefined;
      if (shared === null || !/^[0-9a-f]{16}$/.test(shared)) return null;
      const position = BigInt(`0x${shared}`);
      return position > ownHighest ? position : ownHighest;
    },
    async publish(position) {
      if (position > ownHighest) ownHighest = position;
      await withTimeout(
        client.eval(KEEP_HIGHEST, { keys: [key], arguments: [position.toString(16).padStart(16, '0')] }),
        MARK_WRITE_MS,
        'Redis',
      );
    },
  };
}

/**
 * A service's database from its configuration: DATABASE_URL (or embedded PGlite) and, with
 * DATABASE_REPLICA_URL, a streaming replica for plain reads, routed by WAL positions shared in
 * Redis (REDIS_URL). `close` closes both.
 */
export async function openServiceDatabase(
  config: Pick<PlatformConfig, 'databaseUrl' | 'databaseReplicaUrl' | 'pgliteDir' | 'redis'>,
  { poolSize }: { poolSize?: number } = {},
): Promise<Database> {
  if (!config.databaseReplicaUrl) return openDatabase({ url: config.databaseUrl, dataDir: config.pgliteDir, poolSize });
  if (!config.redis.url)
    throw new ConfigError('DATABASE_REPLICA_URL needs REDIS_URL: every process must learn where each write left the log');
  const client = createRedisClient(config.redis.url);
  await connectRedis(client);
  const db = await openDatabase({
    url: config.databaseUrl,
    poolSize,
    replicaUrl: config.databaseReplicaUrl,
    routing: {
      positions: redisWalPositions(client, config.redis.prefix),
      onRead: (target, reason) => metrics.reads.inc({ target, reason }),
      onPublishFailed: (error) => {
        metrics.publishFailures.inc();
        processLogger.error({ err: (error as Error).message }, 'a write committed but its WAL position could not be published');
      },
    },
  });
  return {
    ...db,
    async close() {
      await db.close();
      await closeRedis(client);
    },
  };
}
