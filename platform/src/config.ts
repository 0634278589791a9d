import { fileURLToPath } from 'node:url';
import { auditPartitionSettings } from '@healthgraph/db';

/**
 * Configuration is read once at start-up from the environment, validated, and refused with one
 * clear line when wrong. Each service reads only its own part: this file holds what every process
 * needs (the platform part) and the readers the gateway and subgraph configurations are built
 * with, so that every variable is parsed the same way everywhere.
 */

export type Environment = 'development' | 'test' | 'production';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What every process (gateway, subgraph, the one-process stack) needs. */
export interface PlatformConfig {
  env: Environment;
  host: string;
  logLevel: LogLevel;
  /** PostgreSQL URL; when absent the embedded PGlite database under pgliteDir is used. */
  databaseUrl?: string;
  /** A streaming replica of DATABASE_URL for plain reads (they go to it once it has replayed every published write). */
  databaseReplicaUrl?: string;
  pgliteDir?: string;
  ports: { gateway: number; patients: number; providers: number; appointments: number; records: number };
  /** Redis shared by every replica (cache L2, invalidations, APQ); absent: each process alone. */
  redis: {
    url?: string;
    /** Prefix of every Redis key and channel: one per deployment sharing a Redis. */
    prefix: string;
  };
  /** HS256 secret the gateway signs subgraph tokens with; every subgraph shares it. */
  subgraphTokenSecret: string;
  audit: {
    /** Folder of the audit journal: events the database could not take yet survive restarts and crashes here. */
    journalDir: string;
    /** `durable`: an answer is released only once its events are durable. `queued`: a benchmark baseline, refused in production. */
    mode: 'durable' | 'queued';
    /** Months of audit events kept (AUDIT_RETENTION_MONTHS; six years by default and at least that in production). */
    retentionMonths: number;
    /** Monthly audit partitions kept ready ahead (AUDIT_PARTITIONS_AHEAD). */
    partitionsAhead: number;
  };
  /** OTLP/HTTP endpoint for traces (OTEL_EXPORTER_OTLP_ENDPOINT); tracing is off without one. */
  tracingEndpoint?: string;
  /** How a server stops on SIGTERM: go unready, stop accepting, let requests in flight finish. */
  shutdown: { readyDelayMs: number; drainMs: number };
}

export class ConfigError extends Error {}

/** The repository's .data folder: embedded database and audit journal (ignored by git). */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../.data/', import.meta.url));
export const DEV_SUBGRAPH_SECRET = 'development-only-subgraph-token-secret-change-me';

/** Typed readers over one environment: each names the variable in its refusal. */
export function envReader(env: NodeJS.ProcessEnv) {
  const raw = (name: string) => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number, what: string) => {
    const value = raw(name);
    if (value === undefined) return fallback;
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) throw new ConfigError(`${name} must be ${what}, got "${value}"`);
    return number;
  };
  return {
    string: (name: string, fallback?: string) => raw(name) ?? fallback,
    /** A positive integer (counts, sizes, budgets). */
    positive: (name: string, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
      integer(name, fallback, 1, max, `a positive integer up to ${max}`),
    /** A whole number, 0 allowed (0 often means "none" or "no limit"). */
    natural: (name: string, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
      integer(name, fallback, 0, max, `a whole number from 0 to ${max}`),
    /** A whole number of seconds, 1 to 86400. */
    seconds: (name: string, fallback: number) => integer(name, fallback, 1, 86_400, 'a number of seconds (1 to 86400)'),
    /** A whole number of milliseconds. */
    milliseconds: (name: string, fallback: number, max = 3_600_000) =>
      integer(name, fallback, 0, max, `a number of milliseconds (0 to ${max})`),
    port: (name: string, fallback: number) => integer(name, fallback, 0, 65_535, 'a port number'),
    /** One of a fixed set of words. */
    oneOf: <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (!(allowed as readonly string[]).includes(value))
        throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
      return value as T;
    },
    /** `on` or `off`. */
    toggle: (name: string, fallback: boolean) => {
      const value = raw(name);
      if (value === undefined) return fallback;
      if (value !== 'on' && value !== 'off') throw new ConfigError(`${name} must be "on" or "off", got "${value}"`);
      return value === 'on';
    },
    /** A comma-separated list. */
    list: (name: string) =>
      (raw(name) ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
  };
}
export type EnvReader = ReturnType<typeof envReader>;

export const environmentOf = (env: NodeJS.ProcessEnv): Environment =>
  env.NODE_ENV === 'production' ? 'production' : env.NODE_ENV === 'test' ? 'test' : 'development';

/** Reads and validates the platform part; refuses to run in production on development secrets. */
export function loadPlatformConfig(env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const read = envReader(env);
  const mode = environmentOf(env);
  let partitions: ReturnType<typeof auditPartitionSettings>;
  try {
    partitions = auditPartitionSettings(env);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const config: PlatformConfig = {
    env: mode,
    host: read.string('HOST', '127.0.0.1')!,
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, mode === 'test' ? 'silent' : 'info'),
    databaseUrl: read.string('DATABASE_URL'),
    databaseReplicaUrl: read.string('DATABASE_REPLICA_URL'),
    pgliteDir: read.string('PGLITE_DATA_DIR'),
    ports: {
      gateway: read.port('GATEWAY_PORT', 4000),
      patients: read.port('PATIENTS_PORT', 4001),
      providers: read.port('PROVIDERS_PORT', 4002),
      appointments: read.port('APPOINTMENTS_PORT', 4003),
      records: read.port('RECORDS_PORT', 4004),
    },
    redis: { url: read.string('REDIS_URL'), prefix: read.string('CACHE_PREFIX', 'hg')! },
    subgraphTokenSecret: read.string('SUBGRAPH_TOKEN_SECRET', DEV_SUBGRAPH_SECRET)!,
    audit: {
      journalDir: read.string('AUDIT_JOURNAL_DIR', DEFAULT_DATA_DIR)!,
      mode: read.oneOf('AUDIT_MODE', ['durable', 'queued'], 'durable'),
      ...partitions,
    },
    tracingEndpoint: read.string('OTEL_EXPORTER_OTLP_ENDPOINT'),
    shutdown: {
      // Behind a load balancer the 503 must be seen before the port closes: a readiness probe
      // every few seconds needs about 5 s. Development and tests stop at once.
      readyDelayMs: read.milliseconds('SHUTDOWN_READY_DELAY_MS', mode === 'production' ? 5_000 : 0, 120_000),
      drainMs: read.milliseconds('SHUTDOWN_DRAIN_MS', 10_000, 600_000),
    },
  };
  if (config.databaseReplicaUrl && !config.databaseUrl)
    throw new ConfigError('DATABASE_REPLICA_URL is a replica of DATABASE_URL: set both (the embedded database has no replica)');
  if (config.databaseReplicaUrl && !config.redis.url)
    throw new ConfigError('DATABASE_REPLICA_URL needs REDIS_URL: every process must learn where each write left the log');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(config.redis.prefix)) throw new ConfigError('CACHE_PREFIX must be 1 to 64 letters, digits, "-" or "_"');
  if (mode === 'production') {
    if (config.subgraphTokenSecret === DEV_SUBGRAPH_SECRET || config.subgraphTokenSecret.length < 32) {
      throw new ConfigError('production needs SUBGRAPH_TOKEN_SECRET of at least 32 characters');
    }
    if (!config.databaseUrl) throw new ConfigError('production needs DATABASE_URL: the embedded database is for development');
    if (config.audit.mode !== 'durable')
      throw new ConfigError('AUDIT_MODE=queued is a benchmark baseline: production releases PHI only once its audit events are durable');
  }
  if (env.AUDIT_SPILL_DIR) throw new ConfigError('AUDIT_SPILL_DIR is now AUDIT_JOURNAL_DIR (the folder of the audit journal)');
  return config;
}

/** Runs a configuration loader; on a ConfigError prints its one line and exits 1 (no stack trace). */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Configuration error: ${error.message}`);
    process.exit(1);
  }
}
