import { DateScalar, DateTimeScalar } from '@healthgraph/platform';
import type { GraphQLFormattedError, GraphQLSchema, ValueNode } from 'graphql';
import { isScalarType } from 'graphql';

const SCALARS = [DateScalar, DateTimeScalar];

/**
 * The supergraph carries custom scalars by name only, so the gateway would pass any string on and
 * a subgraph would refuse it mid-plan. Checking them here refuses a bad date before any subgraph is
 * called. Values travel on unchanged: the subgraphs parse them again.
 */
export function installGatewayScalars(schema: GraphQLSchema): void {
  for (const scalar of SCALARS) {
    const type = schema.getType(scalar.name);
    if (!isScalarType(type)) continue;
    type.parseValue = (value: unknown) => {
      scalar.parseValue(value);
      return value;
    };
    type.parseLiteral = (ast: ValueNode, variables?: Record<string, unknown> | null) => {
      scalar.parseLiteral(ast, variables);
      return 'value' in ast ? ast.value : undefined;
    };
  }
}

/**
 * A literal that fails a scalar's check is reported by GraphQL validation as
 * GRAPHQL_VALIDATION_FAILED; it is bad user input, and says so with that code.
 */
export function promoteScalarErrors(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (formatted.extensions?.code !== 'GRAPHQL_VALIDATION_FAILED') return formatted;
  let cause: unknown = error;
  for (let depth = 0; cause && depth < 5; depth++) {
    const extensions = (cause as { extensions?: Record<string, unknown> }).extensions;
    if (cause !== error && extensions?.code === 'BAD_USER_INPUT')
      return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_USER_INPUT' } };
    cause = (cause as { originalError?: unknown }).originalError;
  }
  return formatted;
}
