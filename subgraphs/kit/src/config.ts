import { ConfigError, envReader, loadPlatformConfig, type PlatformConfig } from '@healthgraph/platform';

/** Data classes of the read cache, each with its own TTL and hit/miss counters. */
export const DATA_CLASSES = ['patient', 'relationship', 'clinical', 'appointments', 'provider'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

/** A subgraph's settings: the platform part plus batching and the read cache. */
export interface SubgraphConfig extends PlatformConfig {
  /** DataLoader batching; `off` exists only for the naive benchmark baseline. */
  batching: boolean;
  cache: {
    /** Off only for the naive benchmark baseline. */
    enabled: boolean;
    /** AES-256-GCM key material for values written to Redis. */
    encryptionKey: string;
    /** Seconds per data class. */
    ttlSeconds: Record<DataClass, number>;
  };
}

export const DEV_CACHE_KEY = 'development-only-cache-encryption-key-change-me';

/** Reads and validates a subgraph's configuration; refuses production on development secrets or baselines. */
export function loadSubgraphConfig(env: NodeJS.ProcessEnv = process.env): SubgraphConfig {
  const platform = loadPlatformConfig(env);
  const read = envReader(env);
  const config: SubgraphConfig = {
    ...platform,
    batching: read.toggle('DATALOADER', true),
    cache: {
      enabled: read.toggle('CACHE', true),
      encryptionKey: read.string('CACHE_ENCRYPTION_KEY', DEV_CACHE_KEY)!,
      ttlSeconds: {
        patient: read.seconds('CACHE_TTL_PATIENT', 300),
        relationship: read.seconds('CACHE_TTL_RELATIONSHIP', 60),
        clinical: read.seconds('CACHE_TTL_CLINICAL', 180),
        appointments: read.seconds('CACHE_TTL_APPOINTMENTS', 60),
        provider: read.seconds('CACHE_TTL_PROVIDER', 1800),
      },
    },
  };
  if (config.env === 'production') {
    if (!config.batching) throw new ConfigError('DATALOADER=off is a benchmark baseline and never runs in production');
    if (!config.cache.enabled) throw new ConfigError('CACHE=off is a benchmark baseline and never runs in production');
    if (config.redis.url && !/^([0-9a-f]{64}|[A-Za-z0-9+/]{43}=)$/i.test(config.cache.encryptionKey)) {
      throw new ConfigError('production with REDIS_URL needs CACHE_ENCRYPTION_KEY: 32 random bytes as 64 hex digits or base64');
    }
  }
  return config;
}
