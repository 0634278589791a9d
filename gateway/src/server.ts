import type { IncomingMessage } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled, ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginUsageReporting } from '@apollo/server/plugin/usageReporting';
import {
  type AuditLog,
  closeRedis,
  connectRedis,
  createHttpHandler,
  createRedisClient,
  healthRoute,
  internalTokenKey,
  type Listening,
  type Logger,
  logger,
  maskError,
  metricsRoute,
  readyRoute,
  requestLogPlugin,
  serve,
} from '@healthgraph/platform';
import { GraphQLError, printSchema } from 'graphql';
import { Agent } from 'undici';
import { AdmissionControl } from './admission.js';
import { createTokenVerifier } from './auth.js';
import { readSupergraph, type SubgraphName } from './compose.js';
import type { GatewayConfig } from './config.js';
import { createContextFactory, type GatewayContext } from './context.js';
import { createExplorer } from './explorer.js';
import { createApqStore, DEFAULT_MANIFEST_PATH, resolvePersistedQuery, TrustedOperations } from './persisted-queries.js';
import { auditPlugin } from './plugins/audit.js';
import { type CostStats, costPlugin, readCostRules } from './plugins/cost.js';
import { fieldAuthorization } from './plugins/field-authorization.js';
import { inputValidationPlugin } from './plugins/input-validation.js';
import { operationLimitsPlugin, promoteTokenLimit } from './plugins/operation-limits.js';
import { responseHeadersPlugin } from './plugins/response-headers.js';
import { prePlan } from './pre-plan.js';
import { classify, PRIORITY_CLASSES, type PriorityClass } from './priority.js';
import { RateLimits } from './rate-limit.js';
import { installGatewayScalars, promoteScalarErrors } from './scalars.js';
import { SubgraphDataSource, subgraphFetcher } from './subgraph-data-source.js';
import { SubgraphCalls } from './subgraph-resilience.js';

export type { GatewayContext } from './context.js';

export interface GatewayOptions {
  config: GatewayConfig;
  /** Where each subgraph is served (defaults to config.subgraphUrls). */
  subgraphUrls?: Record<SubgraphName, string>;
  /** The supergraph SDL (defaults to the committed schema/supergraph.graphql). */
  supergraphSdl?: string;
  /** The audit trail: every disclosure in an answer is made durable here before the answer is released. */
  audit: AuditLog;
  /** Told of operations outside the manifest in log_unknown mode (name and hash, never variables). */
  logUnknownOperation?: (operation: { name: string | null; hash: string; role: string }) => void;
  /** Where request log lines go (the process logger by default). */
  log?: Logger;
  /** Whether the gateway enforces the SDL's field rules (always, but for tests that take this wall away). */
  enforceFieldRules?: boolean;
  /** The command the explorer's header editor names for a development token. */
  tokenCommand?: string;
}

export interface Gateway {
  server: ApolloServer<GatewayContext>;
  /** How many trusted operations were planned ahead of their first request (after listen). */
  prePlanned(): Promise<number>;
  /** Estimated and actual cost totals, for metrics. */
  costStats: CostStats;
  gateway: ApolloGateway;
  /** Who holds a slot and who waits (admission.ts). */
  admission: AdmissionControl;
  /** Deadline, breaker and retry budget per subgraph (subgraph-resilience.ts). */
  subgraphCalls: Record<SubgraphName, SubgraphCalls>;
  listen(port: number, host?: string): Promise<Listening>;
}

/** Builds the gateway: token verification, persisted queries, limits, field rules, cost, the committed supergraph. */
export function createGateway({
  config,
  subgraphUrls = config.subgraphUrls,
  supergraphSdl = readSupergraph(),
  audit,
  log = logger,
  enforceFieldRules = true,
  tokenCommand = 'npm run -s token -- --role CLINICIAN --sub prv-0001',
  logUnknownOperation = (operation) =>
    log.warn(
      { hash: operation.hash, role: operation.role, named: operation.name !== null },
      'operation not in the persisted query manifest',
    ),
}: GatewayOptions): Gateway {
  // Subgraph calls over undici with keep-alive: measurably cheaper than the default fetcher. The
  // connection cap queues requests here, in order, instead of letting a subgraph interleave more of
  // them than it can run at once, which only widens tail latency (README, Benchmarks).
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: config.subgraphMaxConnections });
  // A few connections per subgraph only emergency requests use, so their calls never wait in line
  // behind everyone else's at the connection cap.
  const emergencyAgent = new Agent({ keepAliveTimeout: 30_000, connections: Math.max(1, config.subgraphCalls.emergencyConnections) });
  const fetchers = {
    normal: subgraphFetcher(agent),
    emergency: config.subgraphCalls.emergencyConnections > 0 ? subgraphFetcher(emergencyAgent) : subgraphFetcher(agent),
  };
  const calls = Object.fromEntries(
    (Object.keys(subgraphUrls) as SubgraphName[]).map((name) => [
      name,
      new SubgraphCalls(name, { ...config.subgraphCalls, timeoutMs: config.subgraphCalls.timeoutMs[name] }),
    ]),
  ) as Record<SubgraphName, SubgraphCalls>;
  const costStats: CostStats = { operations: 0, rejected: 0, estimatedTotal: 0, actualTotal: 0 };
  const authorization = fieldAuthorization(
    supergraphSdl,
    config.fieldAuthMode,
    (context, coordinates) =>
      audit.record({
        actorSub: context.principal.sub,
        actorRole: context.principal.role,
        purpose: context.principal.purpose,
        patientId: null,
        resourceType: 'Operation',
        resourceIds: [],
        fieldPaths: coordinates,
        breakGlassReason: context.principal.breakGlassReason ?? null,
        requestId: context.requestId,
        correlationId: context.correlationId,
        outcome: 'DENIED',
      }),
    enforceFieldRules,
  );
  // Apollo Gateway otherwise exports usage metrics to Apollo and probes cloud metadata endpoints
  // to label them: a gateway in front of clinical data calls nothing it was not configured to call.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
  const gateway = new ApolloGateway({
    supergraphSdl: authorization.supergraphSdl,
    buildService: ({ name }) => new SubgraphDataSource(name, subgraphUrls[name as SubgraphName], fetchers, calls[name as SubgraphName]),
  });
  const development = config.env === 'development';
  const pq = config.persistedQueries;
  const trusted = new TrustedOperations(pq.manifestPath ?? DEFAULT_MANIFEST_PATH);
  trusted.watch((error) => log.error({ reason: error.message }, 'persisted query manifest not reloaded'));
  // APQ registration would let any text in: only where the mode accepts any text.
  const apq = pq.mode === 'off' || pq.mode === 'log_unknown' ? createApqStore(config.redis.url, config.redis.prefix) : undefined;
  const usage = config.usageReporting;
  const server = new ApolloServer<GatewayContext>({
    // Usage reporting is a decision, not a side effect of APOLLO_KEY being in the environment.
    ...(usage ? { apollo: { key: usage.key, graphRef: usage.graphRef } } : {}),
    persistedQueries: apq ? { cache: apq, ttl: 7 * 86_400 } : false,
    gateway,
    introspection: development,
    includeStacktraceInErrorResponses: false,
    // No "Did you mean ...?" outside development: suggestions map the schema for an attacker.
    hideSchemaDetailsFromClientErrors: !development,
    parseOptions: { maxTokens: config.limits.maxTokens },
    allowBatchedHttpRequests: config.limits.maxBatch > 1,
    // Signals belong to the process runner, which drains and flushes the audit trail before exiting.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => maskError(promoteTokenLimit(promoteScalarErrors(formatted, error))),
    plugins: [
      // The explorer (explorer.ts) is served by the HTTP layer before authentication, from the gateway's own files.
      ApolloServerPluginLandingPageDisabled(),
      usage
        ? // Operation shapes and timings only: no variables, no headers, no error text, literals stripped from signatures (PHI).
          ApolloServerPluginUsageReporting({
            sendVariableValues: { none: true },
            sendHeaders: { none: true },
            sendErrors: { masked: true },
            sendUnexecutableOperationDocuments: false,
          })
        : ApolloServerPluginUsageReportingDisabled(),
      operationLimitsPlugin(config.limits),
      // Strings no store can keep (NUL, lone surrogates, megabytes) are refused before anything is planned or priced.
      inputValidationPlugin({ maxStringLength: config.limits.maxStringLength, maxIdLength: config.limits.maxIdLength }),
      authorization.plugin, // strips fields before the price is set, so nobody pays for what they cannot read
      costPlugin(readCostRules(supergraphSdl), config.cost, costStats),
      auditPlugin({ audit }), // after every plugin that shapes the operation or the answer
      responseHeadersPlugin(),
      requestLogPlugin<GatewayContext>({
        service: 'gateway',
        log,
        message: 'request',
        operationLabel: (name) => (name && trusted.hasName(name) ? name : 'other'),
      }),
    ],
  });
  let apiSdl: string | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
    installGatewayScalars(apiSchema);
    apiSdl = printSchema(apiSchema);
  });
  const explorer = config.explorer
    ? createExplorer({ endpoint: '/graphql', schema: () => apiSdl, operations: () => trusted.operations, tokenCommand })
    : undefined;
  if (config.explorer && !explorer) log.warn('the explorer was not built (npm run build); browsers get no page at the GraphQL URL');

  const context = createContextFactory(createTokenVerifier(config.jwt), internalTokenKey(config.subgraphTokenSecret), (principal) =>
    classify(config.priority.rules, principal),
  );
  const admission = new AdmissionControl({ ...config.admission, classes: config.priority.classes });
  const redis = config.redis.url ? createRedisClient(config.redis.url) : undefined;
  const rateLimits = new RateLimits({
    ...config.rateLimit,
    perSub: Object.fromEntries(PRIORITY_CLASSES.map((c) => [c, config.priority.classes[c].ratePerSub])) as Record<PriorityClass, number>,
    redis,
    prefix: config.redis.prefix,
  });
  // After the token is verified (the class is the verified caller's), before anything is parsed;
  // a caller over its rate limit does not take a place in the queue.
  const admit = async (req: IncomingMessage, signal: AbortSignal) => {
    const caller = await context(req);
    try {
      await rateLimits.check(caller.principal, caller.priority);
      return await admission.admit(caller.priority, signal);
    } catch (error) {
      if (caller.principal.breakGlassReason && error instanceof GraphQLError) auditRefusal(caller, error);
      throw error;
    }
  };
  // Break-glass is always audited, refusals for load included: the emergency that was turned away
  // must be as visible to the privacy officer as the one that was let in (45 CFR 164.312(b)).
  const auditRefusal = (caller: GatewayContext, error: GraphQLError) =>
    audit.record({
      actorSub: caller.principal.sub,
      actorRole: caller.principal.role,
      purpose: caller.principal.purpose,
      breakGlassReason: caller.principal.breakGlassReason ?? null,
      patientId: null,
      resourceType: 'Request',
      resourceIds: [String(error.extensions.code)],
      fieldPaths: [],
      requestId: caller.requestId,
      correlationId: caller.correlationId,
      outcome: 'DENIED',
    });
  const pqOptions = {
    mode: pq.mode,
    trusted,
    bypassRoles: pq.bypassRoles,
    logUnknown: logUnknownOperation,
  };
  const prepare = async (body: unknown, req: IncomingMessage) => resolvePersistedQuery(body, (await context(req)).principal, pqOptions);
  let loaded = false;
  const handler = createHttpHandler(server, {
    context,
    service: 'gateway',
    maxBodyBytes: config.limits.maxBodyBytes,
    maxBatch: config.limits.maxBatch,
    admit,
    prepare,
    cors: config.cors,
    compression: config.compression || undefined,
    page: explorer?.page,
    routes: {
      ...explorer?.routes,
      '/health': healthRoute(async () => {}),
      '/ready': readyRoute(async () => {
        if (!loaded) throw new Error('supergraph not loaded');
      }),
      '/metrics': metricsRoute(),
    },
  });
  let prePlanned = Promise.resolve(0);
  const listenOn = serve(
    server as unknown as ApolloServer,
    handler,
    () => {
      loaded = true;
      // The first request for a trusted operation should not pay for its plan; again after each manifest change.
      prePlanned = prePlan(gateway, trusted.operations);
      trusted.onChange(() => {
        prePlanned = prePlan(gateway, trusted.operations);
      });
    },
    config.shutdown,
  );
  return {
    server,
    gateway,
    costStats,
    admission,
    subgraphCalls: calls,
    prePlanned: () => prePlanned,
    async listen(port, host) {
      await apq?.connect();
      // Without Redis at start the limits hold per process until the client reconnects by itself.
      if (redis) await connectRedis(redis);
      const listening = await listenOn(port, host);
      return {
        ...listening,
        close: async () => {
          await listening.close();
          trusted.close();
          await apq?.close();
          await closeRedis(redis);
          await agent.close();
          await emergencyAgent.close();
        },
      };
    },
  };
}
