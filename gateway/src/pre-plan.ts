import { createHash } from 'node:crypto';
import { operationFromDocument } from '@apollo/federation-internals';
import type { ApolloGateway } from '@apollo/gateway';
import { type GraphQLSchema, parse, print } from 'graphql';
import { withAuditSelections } from './plugins/audit.js';

/** The parts of Apollo Gateway's internals pre-planning needs; absent parts mean it is skipped. */
interface PlannerInternals {
  apiSchema?: Parameters<typeof operationFromDocument>[0];
  /** The API schema as graphql-js sees it. */
  schema?: GraphQLSchema;
  queryPlanner?: { buildQueryPlan(operation: unknown, options?: object): unknown };
  queryPlanStore?: { set(key: string, plan: unknown): Promise<void> | void };
  recursiveSelectionsLimitDisabled?: boolean;
  nonLocalSelectionsLimitDisabled?: boolean;
}

/**
 * Plans the trusted operations ahead of their first request, under the keys Apollo Gateway's
 * executor looks plans up by (the query hash, with the operation name when one is sent), so the
 * first request is as fast as later ones. Apollo Gateway has no public API for this; if its
 * internals change shape, nothing is pre-planned and requests plan on first use as before.
 * Plans are made for the operation as it runs: with the audit's hidden selections added. Callers
 * whose scopes remove fields run a different document (and hash), planned on first use.
 */
export async function prePlan(gateway: ApolloGateway, operations: Iterable<{ id: string; name: string; body: string }>): Promise<number> {
  const internals = gateway as unknown as PlannerInternals;
  const { apiSchema, schema, queryPlanner, queryPlanStore } = internals;
  if (!apiSchema || !schema || !queryPlanner || !queryPlanStore) return 0;
  let planned = 0;
  for (const { name, body } of operations) {
    try {
      const document = withAuditSelections(schema, parse(body));
      const hash = createHash('sha256').update(print(document)).digest('hex');
      const plan = queryPlanner.buildQueryPlan(operationFromDocument(apiSchema, document, { operationName: name }), {
        recursiveSelectionsLimitDisabled: internals.recursiveSelectionsLimitDisabled,
        nonLocalSelectionsLimitDisabled: internals.nonLocalSelectionsLimitDisabled,
      });
      await queryPlanStore.set(createHash('sha256').update(hash).update(name).digest('hex'), plan);
      await queryPlanStore.set(hash, plan);
      planned++;
    } catch {
      // An operation the current supergraph cannot plan is refused when it is sent, with its own error.
    }
  }
  return planned;
}
