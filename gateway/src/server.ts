import type { IncomingMessage } from 'node:http';
import type { ApolloGateway } from '@apollo/gateway';
import type { ApolloServer } from '@apollo/server';
import {
  type AuditLog,
  createHttpHandler,
  healthRoute,
  internalTokenKey,
  type Listening,
  type Logger,
  logger,
  metricsRoute,
  readyRoute,
  serve,
} from '@healthgraph/platform';
import { printSchema } from 'graphql';
import { type AdmissionControl, createAdmissionGate } from './admission.js';
import { createApolloServer } from './apollo-server.js';
import { createTokenVerifier } from './auth.js';
import { readSupergraph, type SubgraphName } from './compose.js';
import type { GatewayConfig } from './config.js';
import { createContextFactory, type GatewayContext } from './context.js';
import { createExplorer, type Explorer } from './explorer.js';
import { createPersistedQueries } from './persisted-queries.js';
import { gatewayRefusal } from './plugins/audit.js';
import { type CostStats, readCostRules } from './plugins/cost.js';
import { fieldAuthorization } from './plugins/field-authorization.js';
import { prePlan } from './pre-plan.js';
import { classify } from './priority.js';
import { installGatewayScalars } from './scalars.js';
import { createSubgraphGateway } from './subgraph-data-source.js';
import type { SubgraphCalls } from './subgraph-resilience.js';

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

/**
 * In front of Apollo Server: the caller's token (context), admission and rate limits, persisted
 * queries resolved before parsing, CORS and compression, the explorer page and the probes.
 */
function httpFront(
  server: ApolloServer<GatewayContext>,
  {
    config,
    context,
    gate,
    persisted,
    explorer,
    loaded,
  }: {
    config: GatewayConfig;
    context: ReturnType<typeof createContextFactory>;
    gate: ReturnType<typeof createAdmissionGate>;
    persisted: ReturnType<typeof createPersistedQueries>;
    explorer: Explorer | undefined;
    loaded: () => boolean;
  },
) {
  return createHttpHandler(server, {
    context,
    service: 'gateway',
    maxBodyBytes: config.limits.maxBodyBytes,
    maxBatch: config.limits.maxBatch,
    admit: gate.admit,
    prepare: async (body: unknown, req: IncomingMessage) => persisted.resolve(body, (await context(req)).principal),
    cors: config.cors,
    compression: config.compression || undefined,
    page: explorer?.page,
    routes: {
      ...explorer?.routes,
      '/health': healthRoute(async () => {}),
      '/ready': readyRoute(async () => {
        if (!loaded()) throw new Error('supergraph not loaded');
      }),
      '/metrics': metricsRoute(),
    },
  });
}

/** The explorer page and its files, kept up to date with the API schema the gateway serves; undefined when off or not built. */
function explorerOf(
  gateway: ApolloGateway,
  {
    enabled,
    trusted,
    tokenCommand,
    log,
  }: { enabled: boolean; trusted: ReturnType<typeof createPersistedQueries>['trusted']; tokenCommand: string; log: Logger },
): Explorer | undefined {
  let apiSdl: string | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema }) => {
    installGatewayScalars(apiSchema);
    apiSdl = printSchema(apiSchema);
  });
  if (!enabled) return undefined;
  const explorer = createExplorer({ endpoint: '/graphql', schema: () => apiSdl, operations: () => trusted.operations, tokenCommand });
  if (!explorer) log.warn('the explorer was not built (npm run build); browsers get no page at the GraphQL URL');
  return explorer;
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
  const authorization = fieldAuthorization(
    supergraphSdl,
    config.fieldAuthMode,
    (context, fieldPaths) => audit.record(gatewayRefusal(context, 'Operation', { fieldPaths })),
    enforceFieldRules,
  );
  const subgraphs = createSubgraphGateway({ config, subgraphUrls, supergraphSdl: authorization.supergraphSdl });
  const { gateway } = subgraphs;
  const costStats: CostStats = { operations: 0, rejected: 0, estimatedTotal: 0, actualTotal: 0 };
  const persisted = createPersistedQueries({ config, log, logUnknown: logUnknownOperation });
  const { trusted, apq } = persisted;
  const server = createApolloServer({
    config,
    gateway,
    apq,
    audit,
    log,
    fieldRules: authorization.plugin,
    costRules: readCostRules(supergraphSdl),
    costStats,
    operationLabel: (name) => (name && trusted.hasName(name) ? name : 'other'),
  });
  const explorer = explorerOf(gateway, { enabled: config.explorer, trusted, tokenCommand, log });
  const context = createContextFactory(createTokenVerifier(config.jwt), internalTokenKey(config.subgraphTokenSecret), (principal) =>
    classify(config.priority.rules, principal),
  );
  const gate = createAdmissionGate({ config, callerOf: context, audit });
  let loaded = false;
  const handler = httpFront(server, { config, context, gate, persisted, explorer, loaded: () => loaded });
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
    admission: gate.admission,
    subgraphCalls: subgraphs.calls,
    prePlanned: () => prePlanned,
    async listen(port, host) {
      await persisted.connect();
      await gate.connect();
      const listening = await listenOn(port, host);
      return {
        ...listening,
        close: async () => {
          await listening.close();
          await persisted.close();
          await gate.close();
          await subgraphs.close();
        },
      };
    },
  };
}
