import type { ApolloServerPlugin } from '@apollo/server';
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLFormattedError,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  visit,
} from 'graphql';
import type { LimitsConfig } from '../config.js';
import { fragmentsOf } from '../fragments.js';

/** Upper bounds on the shape of one request, read from configuration (LIMIT_MAX_*); every operation under schema/operations passes them with margin. */
export type OperationLimits = LimitsConfig;

export const LimitCode = {
  depth: 'MAX_DEPTH_EXCEEDED',
  aliases: 'MAX_ALIASES_EXCEEDED',
  rootFields: 'MAX_ROOT_FIELDS_EXCEEDED',
  directives: 'MAX_DIRECTIVES_EXCEEDED',
  fields: 'MAX_FIELDS_EXCEEDED',
  tokens: 'MAX_TOKENS_EXCEEDED',
  batch: 'BATCH_LIMIT_EXCEEDED',
} as const;

export interface OperationShape {
  /** Field selections with fragments expanded. */
  fields: number;
  depth: number;
  aliases: number;
  rootFields: number;
  directivesPerField: number;
}

/**
 * Measures an operation with fragments expanded, memoised per fragment so a fragment spread
 * exponentially many times costs linear work. Validation has already refused fragment cycles.
 */
export function measureOperation(document: DocumentNode, operation: OperationDefinitionNode): OperationShape {
  const fragments = fragmentsOf(document);
  type Measure = { depth: number; aliases: number; fields: number; total: number };
  const memo = new Map<string, Measure>();

  const measure = (set: SelectionSetNode, visiting: ReadonlySet<string>): Measure => {
    let depth = 0;
    let aliases = 0;
    let fields = 0;
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const inner = selection.selectionSet ? measure(selection.selectionSet, visiting) : { depth: 0, aliases: 0, fields: 0, total: 0 };
        depth = Math.max(depth, 1 + inner.depth);
        aliases += (selection.alias ? 1 : 0) + inner.aliases;
        fields += 1;
        total += 1 + inner.total;
      } else {
        let inner: Measure;
        if (selection.kind === Kind.INLINE_FRAGMENT) inner = measure(selection.selectionSet, visiting);
        else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || visiting.has(name)) continue;
          inner = memo.get(name) ?? measure(fragment.selectionSet, new Set([...visiting, name]));
          memo.set(name, inner);
        }
        depth = Math.max(depth, inner.depth);
        aliases += inner.aliases;
        fields += inner.fields;
        total += inner.total;
      }
    }
    const cap = (n: number) => Math.min(n, Number.MAX_SAFE_INTEGER);
    return { depth, aliases: cap(aliases), fields, total: cap(total) };
  };

  const root = measure(operation.selectionSet, new Set());
  let directivesPerField = 0;
  visit(document, {
    Field(node) {
      directivesPerField = Math.max(directivesPerField, node.directives?.length ?? 0);
    },
  });
  return { fields: root.total, depth: root.depth, aliases: root.aliases, rootFields: root.fields, directivesPerField };
}

function refuse(code: string, message: string, measured: number, limit: number): GraphQLError {
  return new GraphQLError(message, { extensions: { code, measured, limit, http: { status: 400 } } });
}

/** Refuses operations over the configured shape limits before anything is planned or called. */
export function operationLimitsPlugin(limits: OperationLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, operationName, schema }) {
          // Apollo Gateway would answer these with a 500; they are the client's mistake.
          if (!operation) {
            throw new GraphQLError(
              operationName
                ? `The document has no operation named "${operationName}"`
                : 'The document holds several operations: name the one to run',
              {
                extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } },
              },
            );
          }
          if (!schema.getRootType(operation.operation)) {
            throw new GraphQLError(`This API has no ${operation.operation} operations`, {
              extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
            });
          }
          const shape = measureOperation(document, operation);
          if (shape.fields > limits.maxFields)
            throw refuse(
              LimitCode.fields,
              `The operation selects ${shape.fields} fields once fragments are expanded; the limit is ${limits.maxFields}`,
              shape.fields,
              limits.maxFields,
            );
          if (shape.depth > limits.maxDepth)
            throw refuse(
              LimitCode.depth,
              `The operation is nested ${shape.depth} fields deep; the limit is ${limits.maxDepth}`,
              shape.depth,
              limits.maxDepth,
            );
          if (shape.aliases > limits.maxAliases)
            throw refuse(
              LimitCode.aliases,
              `The operation uses ${shape.aliases} aliases; the limit is ${limits.maxAliases}`,
              shape.aliases,
              limits.maxAliases,
            );
          if (shape.rootFields > limits.maxRootFields)
            throw refuse(
              LimitCode.rootFields,
              `The operation selects ${shape.rootFields} root fields; the limit is ${limits.maxRootFields}`,
              shape.rootFields,
              limits.maxRootFields,
            );
          if (shape.directivesPerField > limits.maxDirectivesPerField) {
            throw refuse(
              LimitCode.directives,
              `A field carries ${shape.directivesPerField} directives; the limit is ${limits.maxDirectivesPerField}`,
              shape.directivesPerField,
              limits.maxDirectivesPerField,
            );
          }
        },
      };
    },
  };
}

/** graphql-js reports the token limit as a syntax error; it is a limit, and says so with its own code. */
export function promoteTokenLimit(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED' && /more th(?:an|at) \d+ tokens/.test(formatted.message)) {
    return { message: formatted.message.replace('more that', 'more than'), extensions: { code: LimitCode.tokens } };
  }
  return formatted;
}
