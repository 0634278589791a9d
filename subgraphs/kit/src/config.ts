import { fileURLToPath } from 'node:url';

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
}

/** The repository's .data folder: embedded database and audit spill files (ignored by git). */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../../.data/', import.meta.url));

export const DEV_JWT_SECRET = 'development-only-client-token-secret-change-me';
export const DEV_SUBGRAPH_SECRET = 'development-only-subgraph-token-secret-change-me';

export class ConfigError extends Error {}

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
  };
  if (mode === 'production') {
    if (!config.jwt.jwksUrl) throw new ConfigError('production needs JWT_JWKS_URL: client tokens must be verified against the identity provider');
    if (env.JWT_SECRET) throw new ConfigError('JWT_SECRET (shared-secret client tokens) is for development; production verifies RS256/ES256 through JWT_JWKS_URL');
    if (config.subgraphTokenSecret === DEV_SUBGRAPH_SECRET || config.subgraphTokenSecret.length < 32) {
      throw new ConfigError('production needs SUBGRAPH_TOKEN_SECRET of at least 32 characters');
    }
    if (!config.databaseUrl) throw new ConfigError('production needs DATABASE_URL: the embedded database is for development');
    if (!config.batching) throw new ConfigError('DATALOADER=off is a benchmark baseline and never runs in production');
  }
  return config;
}
