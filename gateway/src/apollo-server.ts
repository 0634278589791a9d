import type { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { type AuditLog, type Logger, maskError, requestLogPlugin } from '@healthgraph/platform';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { auditPlugin } from './plugins/audit.js';
import { type CostRules, type CostStats, costPlugin } from './plugins/cost.js';
import { inputValidationPlugin } from './plugins/input-validation.js';
import { operationLimitsPlugin, promoteTokenLimit } from './plugins/operation-limits.js';
import { responseHeadersPlugin } from './plugins/response-headers.js';
import { usageReportingPlugin, usageReportingTarget } from './plugins/usage-reporting.js';
import { promoteScalarErrors } from './scalars.js';

export interface ApolloServerParts {
  config: GatewayConfig;
  gateway: ApolloGateway;
  /** The APQ store (Redis or in-process); undefined when APQ registration is off. */
  apq: KeyValueCache<string> | undefined;
  audit: AuditLog;
  log: Logger;
  /** The gateway's field rules (field-authorization.ts). */
  fieldRules: ApolloServerPlugin<GatewayContext>;
  costRules: CostRules;
  costStats: CostStats;
  /** The operation label of metrics and logs: a trusted operation's name or `other`, never a client's free text. */
  operationLabel: (operationName: string | null) => string;
}

/**
 * The Apollo Server inside the gateway: what it tells clients (no stack traces, no schema hints
 * outside development) and its plugins in the order the walls stand, each in its own file under
 * plugins/. Authentication, admission and persisted-query resolution come before it, in the HTTP
 * layer (server.ts).
 */
export function createApolloServer({
  config,
  gateway,
  apq,
  audit,
  log,
  fieldRules,
  costRules,
  costStats,
  operationLabel,
}: ApolloServerParts): ApolloServer<GatewayContext> {
  const development = config.env === 'development';
  return new ApolloServer<GatewayContext>({
    ...usageReportingTarget(config.usageReporting),
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
      usageReportingPlugin(config.usageReporting),
      operationLimitsPlugin(config.limits),
      // Strings no store can keep (NUL, lone surrogates, megabytes) are refused before anything is planned or priced.
      inputValidationPlugin({ maxStringLength: config.limits.maxStringLength, maxIdLength: config.limits.maxIdLength }),
      fieldRules, // strips fields before the price is set, so nobody pays for what they cannot read
      costPlugin(costRules, config.cost, costStats),
      auditPlugin({ audit }), // after every plugin that shapes the operation or the answer
      responseHeadersPlugin(),
      requestLogPlugin<GatewayContext>({
        service: 'gateway',
        log,
        message: 'request',
        operationLabel,
        priorityClass: (context) => context.priority,
      }),
    ],
  });
}
