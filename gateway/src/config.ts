import {
  ConfigError,
  type CorsOptions,
  DEVELOPMENT_ORIGINS,
  envReader,
  isRole,
  loadPlatformConfig,
  type PlatformConfig,
  parseOrigins,
  ROLES,
  type Role,
} from '@healthgraph/platform';
import {
  CLASS_DEFAULTS,
  type ClassSettings,
  DEFAULT_PRIORITY_RULES,
  PRIORITY_CLASSES,
  type PriorityClass,
  type PriorityRule,
  parsePriorityRules,
} from './priority.js';

/** Request shape limits at the gateway (enforced by plugins/operation-limits.ts). */
export interface LimitsConfig {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxDirectivesPerField: number;
  maxFields: number;
  maxTokens: number;
  maxBodyBytes: number;
  maxBatch: number;
  /** Longest String argument value (plugins/input-validation.ts). */
  maxStringLength: number;
  /** Longest ID argument value. */
  maxIdLength: number;
}

export const PQ_MODES = ['off', 'log_unknown', 'safelist', 'require_id'] as const;
export type PersistedQueryMode = (typeof PQ_MODES)[number];

/** The gateway's settings: the platform part plus what only the gateway reads. */
export interface GatewayConfig extends PlatformConfig {
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
  /** Unauthorized fields: `filter` nulls them with an error each; `reject` refuses the operation. */
  fieldAuthMode: 'filter' | 'reject';
  /** Most simultaneous connections (so requests) from this gateway process to each subgraph URL. */
  subgraphMaxConnections: number;
  limits: LimitsConfig;
  persistedQueries: {
    mode: PersistedQueryMode;
    /** The trusted operations (apollo-persisted-query-manifest); defaults to schema/persisted-query-manifest.json. */
    manifestPath?: string;
    /** Roles (of the verified token) that may run operations outside the list (internal tools). */
    bypassRoles: Role[];
  };
  /** Which browser origins may read answers (CORS_ORIGINS, CORS_CREDENTIALS). */
  cors: CorsOptions;
  /** Compression of GraphQL answers (COMPRESSION, COMPRESSION_MIN_BYTES); `false`: never. */
  compression: { minBytes: number } | false;
  /** The GraphiQL explorer at the GraphQL URL for browsers (EXPLORER); development only. */
  explorer: boolean;
  /**
   * Apollo GraphOS usage reporting (APOLLO_USAGE_REPORTING): off unless asked for, and then
   * with APOLLO_KEY and APOLLO_GRAPH_REF. It never sends variables, headers or error messages.
   */
  usageReporting: { key: string; graphRef: string } | false;
  cost: {
    /** measure: price and report, never refuse; enforce: refuse over budget. */
    mode: 'measure' | 'enforce';
    /** Highest estimated cost one operation may have, per role. */
    budgets: Record<Role, number>;
  };
  /** Priority classes (priority.ts): who is in which, and what each gets under load. */
  priority: { rules: PriorityRule[]; classes: Record<PriorityClass, ClassSettings> };
  /** Admission control (admission.ts). */
  admission: { concurrency: number; emergencyReserve: number };
  /** Rate limits per caller and per role (rate-limit.ts). */
  rateLimit: {
    windowSeconds: number;
    /** All callers of a role together, per window; 0 is no limit. Emergency requests are not counted. */
    perRole: Record<Role, number>;
    /** Requests a break-glass caller may always make per window, whatever the limits above say. */
    breakGlassFloor: number;
  };
  /** Calls to subgraphs (subgraph-resilience.ts). */
  subgraphCalls: {
    /** Longest wait for one subgraph answer, per subgraph. */
    timeoutMs: Record<keyof GatewayConfig['subgraphUrls'], number>;
    /** Consecutive failures that open a subgraph's breaker. */
    breakerFailures: number;
    /** How long a breaker stays open before one probe is let through. */
    breakerHalfOpenMs: number;
    /** Retries (reads only) as a share of calls, in percent, on top of a minimum per second. */
    retryBudgetPercent: number;
    retryMinPerSecond: number;
    /** Connections per subgraph kept for emergency requests, apart from everyone else's. */
    emergencyConnections: number;
  };
}

/** A class's name as it appears in variable names: `back-office` is BACK_OFFICE. */
export const envClass = (c: PriorityClass) => c.toUpperCase().replace('-', '_');

/** Default per-window limit of all callers of one role together. */
const ROLE_RATE_DEFAULTS: Record<Role, number> = {
  PATIENT: 60_000,
  CLINICIAN: 60_000,
  SCHEDULER: 30_000,
  BILLING: 12_000,
  ADMIN: 3_000,
  AUDITOR: 6_000,
};

export const DEV_JWT_SECRET = 'development-only-client-token-secret-change-me';

/** Reads and validates the gateway's configuration; refuses to run in production on development secrets. */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const platform = loadPlatformConfig(env);
  const read = envReader(env);
  const local = (port: number) => `http://127.0.0.1:${port}/graphql`;
  // apollographql-client-name is a header any caller sets as it likes: a bypass granted by it was
  // granted to everyone. Refuse to start rather than run with a safelist that is not one.
  if (env.PQ_BYPASS_CLIENTS !== undefined)
    throw new ConfigError(
      'PQ_BYPASS_CLIENTS is no longer supported: apollographql-client-name is an unauthenticated header any caller can send; grant the bypass to the verified token role with PQ_BYPASS_ROLES instead',
    );
  const bypassRoles = read.list('PQ_BYPASS_ROLES');
  for (const role of bypassRoles) if (!isRole(role)) throw new ConfigError(`PQ_BYPASS_ROLES names an unknown role "${role}"`);
  const jwksUrl = read.string('JWT_JWKS_URL');
  const origins = read.string('CORS_ORIGINS');
  const usageReporting = read.toggle('APOLLO_USAGE_REPORTING', false);
  if (usageReporting && (!env.APOLLO_KEY || !env.APOLLO_GRAPH_REF))
    throw new ConfigError('APOLLO_USAGE_REPORTING=on needs APOLLO_KEY and APOLLO_GRAPH_REF (the GraphOS graph to report to)');
  const config: GatewayConfig = {
    ...platform,
    subgraphUrls: {
      patients: read.string('PATIENTS_URL', local(platform.ports.patients))!,
      providers: read.string('PROVIDERS_URL', local(platform.ports.providers))!,
      appointments: read.string('APPOINTMENTS_URL', local(platform.ports.appointments))!,
      records: read.string('RECORDS_URL', local(platform.ports.records))!,
    },
    jwt: {
      secret: read.string('JWT_SECRET', jwksUrl ? undefined : DEV_JWT_SECRET),
      jwksUrl,
      issuer: read.string('JWT_ISSUER', 'healthgraph-dev')!,
      audience: read.string('JWT_AUDIENCE', 'healthgraph')!,
    },
    fieldAuthMode: read.oneOf('FIELD_AUTH_MODE', ['filter', 'reject'], 'filter'),
    subgraphMaxConnections: read.positive('SUBGRAPH_MAX_CONNECTIONS', 8),
    limits: {
      maxDepth: read.positive('LIMIT_MAX_DEPTH', 12),
      maxAliases: read.positive('LIMIT_MAX_ALIASES', 30),
      maxRootFields: read.positive('LIMIT_MAX_ROOT_FIELDS', 10),
      maxDirectivesPerField: read.positive('LIMIT_MAX_DIRECTIVES', 4),
      maxFields: read.positive('LIMIT_MAX_FIELDS', 1000),
      maxTokens: read.positive('LIMIT_MAX_TOKENS', 3000),
      maxBodyBytes: read.positive('LIMIT_MAX_BODY_BYTES', 1_000_000),
      maxBatch: read.positive('LIMIT_MAX_BATCH', 1),
      maxStringLength: read.positive('LIMIT_MAX_STRING_LENGTH', 10_000),
      maxIdLength: read.positive('LIMIT_MAX_ID_LENGTH', 200),
    },
    persistedQueries: {
      mode: read.oneOf('PQ_MODE', PQ_MODES, platform.env === 'production' ? 'safelist' : platform.env === 'test' ? 'off' : 'log_unknown'),
      manifestPath: read.string('PQ_MANIFEST'),
      bypassRoles: bypassRoles as Role[],
    },
    cors: {
      origins:
        origins === undefined
          ? platform.env === 'production'
            ? []
            : DEVELOPMENT_ORIGINS
          : origins.trim().toLowerCase() === 'none'
            ? []
            : parseOrigins('CORS_ORIGINS', read.list('CORS_ORIGINS')),
      credentials: read.toggle('CORS_CREDENTIALS', false),
    },
    compression: read.toggle('COMPRESSION', true) ? { minBytes: read.positive('COMPRESSION_MIN_BYTES', 1024) } : false,
    explorer: read.toggle('EXPLORER', platform.env === 'development'),
    usageReporting: usageReporting ? { key: env.APOLLO_KEY!, graphRef: env.APOLLO_GRAPH_REF! } : false,
    cost: {
      mode: read.oneOf('COST_MODE', ['measure', 'enforce'], 'enforce'),
      budgets: {
        PATIENT: read.positive('COST_BUDGET_PATIENT', 2_000),
        CLINICIAN: read.positive('COST_BUDGET_CLINICIAN', 5_000),
        SCHEDULER: read.positive('COST_BUDGET_SCHEDULER', 3_000),
        BILLING: read.positive('COST_BUDGET_BILLING', 3_000),
        ADMIN: read.positive('COST_BUDGET_ADMIN', 500),
        AUDITOR: read.positive('COST_BUDGET_AUDITOR', 3_000),
      },
    },
    priority: {
      rules: env.PRIORITY_RULES ? parsePriorityRules(env.PRIORITY_RULES) : [...DEFAULT_PRIORITY_RULES],
      classes: Object.fromEntries(
        PRIORITY_CLASSES.map((c) => {
          const d = CLASS_DEFAULTS[c];
          const name = envClass(c);
          return [
            c,
            {
              queue: read.natural(`ADMISSION_QUEUE_${name}`, d.queue, 100_000),
              maxWaitMs: read.milliseconds(`ADMISSION_MAX_WAIT_MS_${name}`, d.maxWaitMs, 60_000),
              retryAfterSeconds: read.seconds(`ADMISSION_RETRY_AFTER_${name}`, d.retryAfterSeconds),
              ratePerSub: read.natural(`RATE_LIMIT_SUB_${name}`, d.ratePerSub),
            },
          ];
        }),
      ) as Record<PriorityClass, ClassSettings>,
    },
    admission: {
      concurrency: read.positive('ADMISSION_CONCURRENCY', 16, 10_000),
      emergencyReserve: read.natural('ADMISSION_EMERGENCY_RESERVE', 8, 10_000),
    },
    rateLimit: {
      windowSeconds: read.seconds('RATE_LIMIT_WINDOW_SECONDS', 60),
      perRole: Object.fromEntries(ROLES.map((role) => [role, read.natural(`RATE_LIMIT_ROLE_${role}`, ROLE_RATE_DEFAULTS[role])])) as Record<
        Role,
        number
      >,
      breakGlassFloor: read.natural('RATE_LIMIT_BREAK_GLASS_FLOOR', 600),
    },
    subgraphCalls: {
      timeoutMs: Object.fromEntries(
        (['patients', 'providers', 'appointments', 'records'] as const).map((name) => [
          name,
          read.milliseconds(`SUBGRAPH_TIMEOUT_MS_${name.toUpperCase()}`, read.milliseconds('SUBGRAPH_TIMEOUT_MS', 3_000, 600_000), 600_000),
        ]),
      ) as GatewayConfig['subgraphCalls']['timeoutMs'],
      breakerFailures: read.positive('SUBGRAPH_BREAKER_FAILURES', 5, 1_000),
      breakerHalfOpenMs: read.milliseconds('SUBGRAPH_BREAKER_HALF_OPEN_MS', 5_000, 600_000),
      retryBudgetPercent: read.natural('SUBGRAPH_RETRY_BUDGET_PERCENT', 10, 100),
      retryMinPerSecond: read.natural('SUBGRAPH_RETRY_MIN_PER_SECOND', 5, 10_000),
      emergencyConnections: read.natural('SUBGRAPH_EMERGENCY_CONNECTIONS', 2, 1_000),
    },
  };
  if (config.cors.credentials && config.cors.origins.includes('*'))
    throw new ConfigError('CORS_CREDENTIALS=on needs CORS_ORIGINS to name origins: the Fetch standard never allows credentials with *');
  if (config.admission.concurrency < 1) throw new ConfigError('ADMISSION_CONCURRENCY must be at least 1');
  if (config.env === 'production') {
    if (config.explorer) throw new ConfigError('EXPLORER=on is for development: production serves no explorer page');
    if (!config.jwt.jwksUrl)
      throw new ConfigError('production needs JWT_JWKS_URL: client tokens must be verified against the identity provider');
    if (env.JWT_SECRET)
      throw new ConfigError(
        'JWT_SECRET (shared-secret client tokens) is for development; production verifies RS256/ES256 through JWT_JWKS_URL',
      );
  }
  return config;
}
