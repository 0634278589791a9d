import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type DataLoader from 'dataloader';
import { parse, type GraphQLFormattedError } from 'graphql';
import { type PrismaClient, statementScope } from '@healthgraph/db';
import { type Access, accessFor, createConsentLoader, createPatientAccessLoader, type Label } from './access.js';
import type { AuditLog } from './audit.js';
import type { ScopedCache } from './cache.js';
import { auditPlugin } from './audit-plugin.js';
import { ErrorCode, unauthenticated } from './errors.js';
import { enforceFieldRules } from './field-rules.js';
import { createHttpHandler, healthRoute, type Listening, serve } from './http.js';
import { logger } from './logger.js';
import { metrics, metricsRoute } from './metrics.js';
import type { Logger } from 'pino';
import { type InternalTokenKey, verifyInternalToken } from './internal-token.js';
import type { Principal } from './principal.js';

/** Data access already scoped to one request's principal: resolvers cannot forget a check. */
export interface ScopedData {
  prisma: PrismaClient;
  principal: Principal;
  access: Access;
  /** "May this caller see patient X?" (batched). */
  canSeePatient: DataLoader<string, boolean>;
  /** Labels the patient consented to share with this clinician (batched). */
  consentedLabels: DataLoader<string, ReadonlySet<Label>>;
  /** Whether loaders batch; false only for the naive benchmark baseline. */
  batch: boolean;
  /** The role-scoped read cache, absent when caching is off. */
  cache: ScopedCache | undefined;
  /** Views may go to the shared cache (false for break-glass: those stay in this process). */
  shareable: boolean;
}

/** Built once per request. Loaders are never shared between requests. */
export interface SubgraphContext<L> {
  principal: Principal;
  requestId: string;
  data: ScopedData;
  loaders: L;
}

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

/** Data access for one request, scoped by its principal. */
export function createScopedData(prisma: PrismaClient, principal: Principal, { batch, cache }: { batch: boolean; cache?: ScopedCache }): ScopedData {
  const options = { batch, cache };
  return {
    prisma,
    principal,
    access: accessFor(principal),
    canSeePatient: createPatientAccessLoader(prisma, principal, options),
    consentedLabels: createConsentLoader(prisma, principal, options),
    batch,
    cache,
    // Break-glass views stay in this process: never written to the shared cache.
    shareable: principal.purpose !== 'BTG',
  };
}

/** Duration, errors and one log line per request; operation names stay out (they derive from the client's). */
function requestMetrics(service: string, log: Logger): ApolloServerPlugin<SubgraphContext<unknown>> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ response, operation, contextValue }) {
          const durationMs = performance.now() - started;
          const kind = operation?.operation ?? 'unknown';
          metrics.requestDuration.observe({ service, operation: 'subgraph', kind }, durationMs / 1000);
          const codes = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []).map((e) => String(e.extensions?.code ?? 'UNKNOWN')) : [];
          for (const code of codes) metrics.errors.inc({ service, code });
          log.info({ requestId: contextValue?.requestId, subgraph: service, kind, role: contextValue?.principal.role, durationMs: Math.round(durationMs * 10) / 10, errors: codes }, 'subgraph request');
        },
      };
    },
  };
}

/** Reads schema/<name>.graphql, the source of truth for a subgraph's SDL. */
export function subgraphTypeDefs(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../../schema/${name}.graphql`, import.meta.url)), 'utf8');
}

/**
 * Masks anything that is not one of our coded errors: Prisma and driver messages can carry query
 * values, which here are PHI.
 */
export function maskError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  const known = typeof code === 'string' && code !== ErrorCode.INTERNAL_SERVER_ERROR;
  if (known) return formatted;
  return { message: 'Internal server error', path: formatted.path, locations: formatted.locations, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}

/** Builds a federated subgraph server that only answers requests carrying a gateway-signed token. */
export function createSubgraph<L>({ name, resolvers, createLoaders, prisma, tokenKey, audit, cache, batching = true, development = false, log = logger }: SubgraphOptions<L>): Subgraph {
  const schema = enforceFieldRules(buildSubgraphSchema({ typeDefs: parse(subgraphTypeDefs(name)), resolvers: resolvers as GraphQLResolverMap<unknown> }));
  const server = new ApolloServer<SubgraphContext<L>>({
    schema,
    introspection: development,
    includeStacktraceInErrorResponses: false,
    formatError: maskError,
    // Inline traces would ship resolver timings and paths to whoever asks; usage reporting is not used.
    plugins: [ApolloServerPluginInlineTraceDisabled(), auditPlugin(audit) as never, requestMetrics(name, log) as never],
  });

  const context = async (req: IncomingMessage): Promise<SubgraphContext<L>> => {
    const header = req.headers.authorization ?? '';
    const verified = header.startsWith('Bearer ') ? await verifyInternalToken(tokenKey, header.slice(7)) : null;
    // Anything that did not come through the gateway is refused outright (401).
    if (!verified) throw unauthenticated('subgraphs only answer requests signed by the gateway');
    const { principal, requestId } = verified;
    const data = createScopedData(prisma, principal, { batch: batching, cache });
    return { principal, requestId: requestId || randomUUID(), data, loaders: createLoaders(data) };
  };

  const http = createHttpHandler(server, {
    context,
    service: name,
    routes: { '/health': healthRoute(async () => void (await prisma.$queryRaw`SELECT 1`)), '/metrics': metricsRoute() },
  });
  // Every SQL statement issued while serving one request is counted against it.
  const handler: typeof http = (req, res) => {
    const scope = { statements: 0 };
    res.once('finish', () => metrics.statementsPerRequest.observe({ service: name }, scope.statements));
    statementScope.run(scope, () => http(req, res));
  };
  return {
    name,
    server: server as unknown as ApolloServer<SubgraphContext<unknown>>,
    handler,
    listen: serve(server as unknown as ApolloServer, handler),
  };
}
