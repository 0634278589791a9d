import { fileURLToPath } from 'node:url';
import { isRole, type Role } from './principal.js';

/** Settings shared by the gateway and the subgraphs, read once from the environment. */
export interface Config {
  env: 'development' | 'test' | 'production';
  host: string;
  /** PostgreSQL URL; when absent the embedded PGlite database under pgliteDir is used. */
  databaseUrl?: string;
  pgliteDir?: string;
  /** Patients to seed on the first start of an empty embedded database. */
  seedPatients: number;
  ports: { gateway: number; patients: number; providers: number; appointments: number; records: number };
  /** Where the gateway finds each subgraph (defaults to the local ports). */
  subgraphUrls: { patients: string; providers: string; appointments: string; records: string };
  jwt: {
    /** HS256 secret for client tokens (development and tests). */
    secret?: string;
    /** JWKS endpoint for RS256/ES256 client tokens (production). */
    jwksUrl?: string;
    issuer: string;
    audience: string;
  };
  /** HS256 secret the gateway signs subgraph tokens with; every subgraph shares it. */
  subgraphTokenSecret: string;
  /** DataLoader batching; `off` exists only for the naive benchmark baseline. */
  batching: boolean;
  /** Unauthorized fields: `filter` nulls them with an error each; `reject` refuses the operation. */
  fieldAuthMode: 'filter' | 'reject';
  /** Folder for audit events the database refused at shutdown (replayed at the next start). */
  auditSpillDir: string;
  /** OTLP/HTTP endpoint for traces (OTEL_EXPORTER_OTLP_ENDPOINT); tracing is off without one. */
  tracingEndpoint?: string;
  /** Most simultaneous connections (so requests) from this gateway process to each subgraph URL. */
  subgraphMaxConnections: number;
  limits: LimitsConfig;
  persistedQueries: {
    mode: 'off' | 'log_unknown' | 'safelist' | 'require_id';
    /** The trusted operations (apollo-persisted-query-manifest); defaults to schema/persisted-query-manifest.json. */
    manifestPath?: string;
    /** Roles and client names that may run operations outside the list (internal tools). */
    bypassRoles: Role[];
    bypassClients: string[];
  };
  cost: {
    /** measure: price and report, never refuse; enforce: refuse over budget. */
    mode: 'measure' | 'enforce';
    /** Highest estimated cost one operation may have, per role. */
    budgets: { PATIENT: number; CLINICIAN: number; SCHEDULER: number; BILLING: number; ADMIN: number; AUDITOR: number };
  };
  cache: {
    /** Off only for the naive benchmark baseline. */
    enabled: boolean;
    /** Shared L2 for every replica; without it each process caches alone. */
    redisUrl?: string;
    /** Prefix of every Redis key and channel: one per deployment sharing a Redis. */
    prefix: string;
    /** AES-256-GCM key material for values written to Redis. */
    encryptionKey: string;
    /** Seconds per data class. */
    ttlSeconds: { patient: number; relationship: number; clinical: number; appointments: number; provider: number };
  };
}

/** Request shape limits at the gateway (enforced by gateway/src/operation-limits.ts; defaults below). */
export interface LimitsConfig {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxDirectivesPerField: number;
  maxFields: number;
  maxTokens: number;
  maxBodyBytes: number;
  maxBatch: number;
}

export const DEV_CACHE_KEY = 'development-only-cache-encryption-key-change-me';

/** The repository's .data folder: embedded database and audit spill files (ignored by git). */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../../.data/', import.meta.url));

export const DEV_JWT_SECRET = 'development-only-client-token-secret-change-me';
export const DEV_SUBGRAPH_SECRET = 'development-only-subgraph-token-secret-change-me';

export class ConfigError extends Error {}

function bounded(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 86_400) throw new ConfigError(`${name} must be a number of seconds (1 to 86400), got "${raw}"`);
  return value;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new ConfigError(`${name} must be a port number, got "${raw}"`);
  return value;
}

/** Reads and validates the configuration; refuses to run in production on development secrets. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const mode = env.NODE_ENV === 'production' ? 'production' : env.NODE_ENV === 'test' ? 'test' : 'development';
  const ports = {
    gateway: port(env, 'GATEWAY_PORT', 4000),
    patients: port(env, 'PATIENTS_PORT', 4001),
    providers: port(env, 'PROVIDERS_PORT', 4002),
    appointments: port(env, 'APPOINTMENTS_PORT', 4003),
    records: port(env, 'RECORDS_PORT', 4004),
  };
  const local = (p: number) => `http://127.0.0.1:${p}/graphql`;
  const seedPatients = Number(env.SEED_PATIENTS ?? 2000);
  if (!Number.isInteger(seedPatients) || seedPatients < 4) throw new ConfigError('SEED_PATIENTS must be an integer of at least 4');
  if (env.DATALOADER !== undefined && !['on', 'off'].includes(env.DATALOADER)) throw new ConfigError('DATALOADER must be "on" or "off"');
  const fieldAuthMode = env.FIELD_AUTH_MODE || 'filter';
  if (fieldAuthMode !== 'filter' && fieldAuthMode !== 'reject') throw new ConfigError('FIELD_AUTH_MODE must be "filter" or "reject"');
  const config: Config = {
    env: mode,
    host: env.HOST || '127.0.0.1',
    databaseUrl: env.DATABASE_URL || undefined,
    pgliteDir: env.PGLITE_DATA_DIR || undefined,
    seedPatients,
    ports,
    subgraphUrls: {
      patients: env.PATIENTS_URL || local(ports.patients),
      providers: env.PROVIDERS_URL || local(ports.providers),
      appointments: env.APPOINTMENTS_URL || local(ports.appointments),
      records: env.RECORDS_URL || local(ports.records),
    },
    jwt: {
      secret: env.JWT_SECRET || (env.JWT_JWKS_URL ? undefined : DEV_JWT_SECRET),
      jwksUrl: env.JWT_JWKS_URL || undefined,
      issuer: env.JWT_ISSUER || 'healthgraph-dev',
      audience: env.JWT_AUDIENCE || 'healthgraph',
    },
    subgraphTokenSecret: env.SUBGRAPH_TOKEN_SECRET || DEV_SUBGRAPH_SECRET,
    batching: env.DATALOADER !== 'off',
    fieldAuthMode,
    auditSpillDir: env.AUDIT_SPILL_DIR || DEFAULT_DATA_DIR,
    tracingEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
    subgraphMaxConnections: bounded(env, 'SUBGRAPH_MAX_CONNECTIONS', 8),
    limits: {
      maxDepth: bounded(env, 'LIMIT_MAX_DEPTH', 12),
      maxAliases: bounded(env, 'LIMIT_MAX_ALIASES', 30),
      maxRootFields: bounded(env, 'LIMIT_MAX_ROOT_FIELDS', 10),
      maxDirectivesPerField: bounded(env, 'LIMIT_MAX_DIRECTIVES', 4),
      maxFields: bounded(env, 'LIMIT_MAX_FIELDS', 1000),
      maxTokens: bounded(env, 'LIMIT_MAX_TOKENS', 3000),
      maxBodyBytes: bounded(env, 'LIMIT_MAX_BODY_BYTES', 1_000_000),
      maxBatch: bounded(env, 'LIMIT_MAX_BATCH', 1),
    },
    persistedQueries: {
      mode: (env.PQ_MODE || (mode === 'production' ? 'safelist' : mode === 'test' ? 'off' : 'log_unknown')) as Config['persistedQueries']['mode'],
      manifestPath: env.PQ_MANIFEST || undefined,
      bypassRoles: (env.PQ_BYPASS_ROLES ?? '').split(',').map((r) => r.trim()).filter(Boolean) as Role[],
      bypassClients: (env.PQ_BYPASS_CLIENTS ?? '').split(',').map((c) => c.trim()).filter(Boolean),
    },
    cost: {
      mode: env.COST_MODE === 'measure' ? 'measure' : 'enforce',
      budgets: {
        PATIENT: bounded(env, 'COST_BUDGET_PATIENT', 2_000),
        CLINICIAN: bounded(env, 'COST_BUDGET_CLINICIAN', 5_000),
        SCHEDULER: bounded(env, 'COST_BUDGET_SCHEDULER', 3_000),
        BILLING: bounded(env, 'COST_BUDGET_BILLING', 3_000),
        ADMIN: bounded(env, 'COST_BUDGET_ADMIN', 500),
        AUDITOR: bounded(env, 'COST_BUDGET_AUDITOR', 3_000),
      },
    },
    cache: {
      enabled: env.CACHE !== 'off',
      redisUrl: env.REDIS_URL || undefined,
      prefix: env.CACHE_PREFIX || 'hg',
      encryptionKey: env.CACHE_ENCRYPTION_KEY || DEV_CACHE_KEY,
      ttlSeconds: {
        patient: seconds(env, 'CACHE_TTL_PATIENT', 300),
        relationship: seconds(env, 'CACHE_TTL_RELATIONSHIP', 60),
        clinical: seconds(env, 'CACHE_TTL_CLINICAL', 180),
        appointments: seconds(env, 'CACHE_TTL_APPOINTMENTS', 60),
        provider: seconds(env, 'CACHE_TTL_PROVIDER', 1800),
      },
    },
  };
  if (env.CACHE !== undefined && !['on', 'off'].includes(env.CACHE)) throw new ConfigError('CACHE must be "on" or "off"');
  if (!['off', 'log_unknown', 'safelist', 'require_id'].includes(config.persistedQueries.mode)) throw new ConfigError('PQ_MODE must be off, log_unknown, safelist or require_id');
  for (const role of config.persistedQueries.bypassRoles) if (!isRole(role)) throw new ConfigError(`PQ_BYPASS_ROLES names an unknown role "${role}"`);
  if (env.COST_MODE !== undefined && !['measure', 'enforce'].includes(env.COST_MODE)) throw new ConfigError('COST_MODE must be "measure" or "enforce"');
  if (mode === 'production') {
    if (!config.jwt.jwksUrl) throw new ConfigError('production needs JWT_JWKS_URL: client tokens must be verified against the identity provider');
    if (env.JWT_SECRET) throw new ConfigError('JWT_SECRET (shared-secret client tokens) is for development; production verifies RS256/ES256 through JWT_JWKS_URL');
    if (config.subgraphTokenSecret === DEV_SUBGRAPH_SECRET || config.subgraphTokenSecret.length < 32) {
      throw new ConfigError('production needs SUBGRAPH_TOKEN_SECRET of at least 32 characters');
    }
    if (!config.databaseUrl) throw new ConfigError('production needs DATABASE_URL: the embedded database is for development');
    if (!config.batching) throw new ConfigError('DATALOADER=off is a benchmark baseline and never runs in production');
    if (!config.cache.enabled) throw new ConfigError('CACHE=off is a benchmark baseline and never runs in production');
    if (config.cache.redisUrl && !/^([0-9a-f]{64}|[A-Za-z0-9+/]{43}=)$/i.test(config.cache.encryptionKey)) {
      throw new ConfigError('production with REDIS_URL needs CACHE_ENCRYPTION_KEY: 32 random bytes as 64 hex digits or base64');
    }
  }
  return config;
}
