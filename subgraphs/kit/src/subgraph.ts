import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ApolloServer } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { type PrismaClient, statementScope } from '@healthgraph/db';
import {
  type AuditLog,
  createHttpHandler,
  type DrainOptions,
  healthRoute,
  type InternalTokenKey,
  isUnavailable,
  type Listening,
  type Logger,
  logger,
  maskError,
  metricsRoute,
  type Principal,
  readyRoute,
  requestLogPlugin,
  serve,
  unauthenticated,
  verifyInternalToken,
} from '@healthgraph/platform';
import { parse } from 'graphql';
import { auditPlugin } from './audit.js';
import type { ScopedCache } from './cache.js';
import { createScopedData, type ScopedData, type SubgraphContext } from './context.js';
import { enforceFieldRules } from './field-rules.js';
import { kitMetrics } from './metrics.js';
import type { Policy } from './policy.js';

/** What every subgraph is built from: the shared database client and the gateway's token key. */
export interface SubgraphDeps {
  prisma: PrismaClient;
  tokenKey: InternalTokenKey;
  /** Where disclosures and refusals are recorded; every subgraph has one. */
  audit: AuditLog;
  /** The role-scoped read cache (absent: every read goes to the database). */
  cache?: ScopedCache;
  /** DataLoader batching (default on); off only for the naive benchmark baseline. */
  batching?: boolean;
  /** Introspection on (development only). */
  development?: boolean;
  /** Where request log lines go (the process logger by default). */
  log?: Logger;
  /** The policy a principal gets; tests replace it to take the data layer's wall away and show the gateway's holds. */
  policy?: (principal: Principal) => Policy;
  /** Whether the subgraph enforces the SDL's field rules itself (always, but for tests that take that wall away). */
  fieldRules?: boolean;
  /** How the server drains on shutdown (PlatformConfig.shutdown). */
  shutdown?: DrainOptions;
}

export interface SubgraphOptions<L> extends SubgraphDeps {
  name: string;
  resolvers: GraphQLResolverMap<SubgraphContext<L>>;
  createLoaders: (data: ScopedData) => L;
}

export interface Subgraph {
  name: string;
  server: ApolloServer<SubgraphContext<unknown>>;
  handler: ReturnType<typeof createHttpHandler>;
  /** Starts Apollo Server and listens; port 0 picks a free port. */
  listen(port: number, host?: string): Promise<Listening>;
}

/** Reads schema/<name>.graphql, the source of truth for a subgraph's SDL. */
export function subgraphTypeDefs(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../../schema/${name}.graphql`, import.meta.url)), 'utf8');
}

/** Builds a federated subgraph server that only answers requests carrying a gateway-signed token. */
export function createSubgraph<L>({
  name,
  resolvers,
  createLoaders,
  prisma,
  tokenKey,
  audit,
  cache,
  batching = true,
  development = false,
  log = logger,
  policy,
  fieldRules = true,
  shutdown,
}: SubgraphOptions<L>): Subgraph {
  const built = buildSubgraphSchema({ typeDefs: parse(subgraphTypeDefs(name)), resolvers: resolvers as GraphQLResolverMap<unknown> });
  const schema = fieldRules ? enforceFieldRules(built) : built;
  const server = new ApolloServer<SubgraphContext<L>>({
    schema,
    introspection: development,
    includeStacktraceInErrorResponses: false,
    // A database that cannot be reached is SERVICE_UNAVAILABLE (retryable); anything else uncoded is masked.
    formatError: (formatted, error) =>
      maskError(isUnavailable(unwrapResolverError(error)) ? { ...formatted, extensions: { code: 'SERVICE_UNAVAILABLE' } } : formatted),
    // Signals belong to the process runner, which drains and flushes the audit trail before exiting.
    stopOnTerminationSignals: false,
    // Inline traces would ship resolver timings and paths to whoever asks; usage reporting is not used.
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      // Cache hints would be computed for every resolved field and read by no one: the gateway sets
      // `private, no-store` on every answer, and the subgraphs' own caches are keyed by policy, not by hints.
      ApolloServerPluginCacheControlDisabled(),
      auditPlugin(audit) as never,
      requestLogPlugin({
        service: name,
        log,
        message: 'subgraph request',
        operationLabel: () => 'subgraph',
        fields: { subgraph: name },
      }) as never,
    ],
  });

  const context = async (req: IncomingMessage): Promise<SubgraphContext<L>> => {
    const header = req.headers.authorization ?? '';
    const verified = header.startsWith('Bearer ') ? await verifyInternalToken(tokenKey, header.slice(7)) : null;
    // Anything that did not come through the gateway is refused outright (401).
    if (!verified) throw unauthenticated('subgraphs only answer requests signed by the gateway');
    const { principal, requestId, correlationId } = verified;
    const data = createScopedData(prisma, principal, { batch: batching, cache, requestId, correlationId, policy });
    return { principal, requestId, correlationId, data, loaders: createLoaders(data) };
  };

  const http = createHttpHandler(server, {
    context,
    service: name,
    routes: {
      '/health': healthRoute(async () => {}),
      '/ready': readyRoute(async () => void (await prisma.$queryRaw`SELECT 1`)),
      '/metrics': metricsRoute(),
    },
  });
  // Every SQL statement issued while serving one request is counted against it.
  const handler: typeof http = (req, res) => {
    const scope = { statements: 0 };
    res.once('finish', () => kitMetrics.statementsPerRequest.observe({ service: name }, scope.statements));
    statementScope.run(scope, () => http(req, res));
  };
  return {
    name,
    server: server as unknown as ApolloServer<SubgraphContext<unknown>>,
    handler,
    listen: serve(server as unknown as ApolloServer, handler, undefined, shutdown),
  };
}
