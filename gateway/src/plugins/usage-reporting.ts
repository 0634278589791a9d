import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginUsageReporting } from '@apollo/server/plugin/usageReporting';
import type { GatewayConfig } from '../config.js';

/**
 * Usage reporting to Apollo is a decision (APOLLO_USAGE_REPORTING=on with a key), never a side effect of
 * APOLLO_KEY being in the environment; when on, it sends operation shapes and timings only: no
 * variables, no headers, no error text, literals stripped from signatures (PHI).
 */
export function usageReportingPlugin(usage: GatewayConfig['usageReporting']): ApolloServerPlugin {
  if (!usage) return ApolloServerPluginUsageReportingDisabled();
  return ApolloServerPluginUsageReporting({
    sendVariableValues: { none: true },
    sendHeaders: { none: true },
    sendErrors: { masked: true },
    sendUnexecutableOperationDocuments: false,
  });
}

/** The Apollo Server options that name the graph usage is reported for, when it is. */
export const usageReportingTarget = (usage: GatewayConfig['usageReporting']) =>
  usage ? { apollo: { key: usage.key, graphRef: usage.graphRef } } : {};
