import type { ApolloServerPlugin } from '@apollo/server';
import { requestError } from '@healthgraph/platform';
import {
  type DirectiveNode,
  type DocumentNode,
  type GraphQLArgument,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  getOperationAST,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  isScalarType,
  isSpecifiedScalarType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { fragmentsOf } from '../fragments.js';

/** Bounds on every string a caller sends as an argument, by literal or by variable. */
export interface InputValidationOptions {
  /** Longest String (or custom scalar) value, in UTF-16 code units. */
  maxStringLength?: number;
  /** Longest ID value: ids here are a few dozen characters. */
  maxIdLength?: number;
}

/** An argument value the gateway refuses, named by its path from the argument (`input.idempotencyKey`). */
export interface InvalidArgument {
  /** `Type.field` or `@directive` the argument belongs to. */
  coordinate: string;
  path: string;
  reason: string;
}

// In a u-mode expression a surrogate pair is one code point, so only lone halves match.
const LONE_SURROGATE = /\p{Surrogate}/u;
/** Beyond this, a value nested deeper than any input type here is left to GraphQL's own coercion. */
const MAX_DEPTH = 64;

/**
 * Finds the first argument value of an operation (literals and variables, a left-out variable's
 * default, nested input objects and lists, in fragments too) that is a string no store can keep
 * faithfully: a NUL character (PostgreSQL refuses it in text and jsonb), a lone surrogate (not
 * Unicode; jsonb refuses it, UTF-8 encoders replace it), or over its length bound.
 */
export function findInvalidArgument(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  { maxStringLength = 10_000, maxIdLength = 200 }: InputValidationOptions = {},
): InvalidArgument | undefined {
  const fragments = fragmentsOf(document);
  const defaults = new Map((operation.variableDefinitions ?? []).map((d) => [d.variable.name.value, d.defaultValue]));
  const visited = new Set<string>();
  let found: InvalidArgument | undefined;

  const text = (value: string, type: GraphQLNamedType, coordinate: string, path: string): boolean => {
    const limit = type.name === 'ID' ? maxIdLength : maxStringLength;
    // Never the value itself in the reason: it may be PHI, and it is what the store cannot hold.
    const reason =
      value.length > limit
        ? `is ${value.length} characters long; at most ${limit} are accepted`
        : value.includes('\u0000')
          ? 'holds a NUL character (U+0000), which no text may hold'
          : LONE_SURROGATE.test(value)
            ? 'holds a lone UTF-16 surrogate, which is not Unicode text'
            : undefined;
    if (reason) found = { coordinate, path, reason };
    return reason !== undefined;
  };

  /** A value from the variables (JSON), against the type where it is used. */
  const raw = (value: unknown, type: GraphQLInputType, coordinate: string, path: string, depth: number): boolean => {
    if (value === null || value === undefined || depth > MAX_DEPTH) return false;
    const nullable = getNullableType(type);
    if (isListType(nullable)) {
      // A single value where a list is expected is coerced into a list of one.
      if (!Array.isArray(value)) return raw(value, nullable.ofType, coordinate, path, depth + 1);
      return value.some((item, i) => raw(item, nullable.ofType, coordinate, `${path}[${i}]`, depth + 1));
    }
    if (isInputObjectType(nullable)) {
      if (typeof value !== 'object' || Array.isArray(value)) return false;
      const record = value as Record<string, unknown>;
      // The type's fields, not the value's keys: a path names only what the schema declares (unknown keys are refused by coercion).
      return Object.values(nullable.getFields()).some(
        (field) => Object.hasOwn(record, field.name) && raw(record[field.name], field.type, coordinate, `${path}.${field.name}`, depth + 1),
      );
    }
    if (!isScalarType(nullable)) return false;
    if (typeof value === 'string') return text(value, nullable, coordinate, path);
    // A custom scalar may take structured values: their strings reach the subgraphs as well.
    if (!isSpecifiedScalarType(nullable) && typeof value === 'object') {
      return Object.values(value as object).some((item) => raw(item, nullable, coordinate, path, depth + 1));
    }
    return false;
  };

  /** A value written in the document (or a variable it names), against its type. */
  const literal = (node: ValueNode, type: GraphQLInputType, coordinate: string, path: string): boolean => {
    if (node.kind === Kind.VARIABLE) {
      const name = node.name.value;
      if (Object.hasOwn(variables, name)) return raw(variables[name], type, coordinate, path, 0);
      const fallback = defaults.get(name);
      return fallback !== undefined && literal(fallback, type, coordinate, path);
    }
    const nullable = getNullableType(type);
    if (isListType(nullable)) {
      if (node.kind !== Kind.LIST) return literal(node, nullable.ofType, coordinate, path);
      return node.values.some((item, i) => literal(item, nullable.ofType, coordinate, `${path}[${i}]`));
    }
    if (isInputObjectType(nullable)) {
      if (node.kind !== Kind.OBJECT) return false;
      const fields = nullable.getFields();
      return node.fields.some((field) => {
        const definition = fields[field.name.value];
        return definition !== undefined && literal(field.value, definition.type, coordinate, `${path}.${definition.name}`);
      });
    }
    if (!isScalarType(nullable)) return false;
    if (node.kind === Kind.STRING) return text(node.value, nullable, coordinate, path);
    if (!isSpecifiedScalarType(nullable) && (node.kind === Kind.LIST || node.kind === Kind.OBJECT)) {
      const items = node.kind === Kind.LIST ? node.values : node.fields.map((f) => f.value);
      return items.some((item) => literal(item, nullable, coordinate, path));
    }
    return false;
  };

  const argumentsOf = (
    nodes: readonly { name: { value: string }; value: ValueNode }[] | undefined,
    definitions: readonly GraphQLArgument[],
    coordinate: string,
  ): boolean =>
    (nodes ?? []).some((node) => {
      const definition = definitions.find((d) => d.name === node.name.value);
      return definition !== undefined && literal(node.value, definition.type, coordinate, definition.name);
    });

  const directives = (nodes: readonly DirectiveNode[] | undefined): boolean =>
    (nodes ?? []).some((node) => {
      const definition = schema.getDirective(node.name.value);
      return definition != null && argumentsOf(node.arguments, definition.args, `@${definition.name}`);
    });

  const selections = (set: SelectionSetNode, parent: GraphQLNamedType | undefined): boolean =>
    set.selections.some((selection) => {
      if (directives(selection.directives)) return true;
      if (selection.kind === Kind.FIELD) {
        const field = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[selection.name.value] : undefined;
        if (field && argumentsOf(selection.arguments, field.args, `${parent!.name}.${field.name}`)) return true;
        return selection.selectionSet !== undefined && selections(selection.selectionSet, field && getNamedType(field.type));
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        return selections(selection.selectionSet, selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent);
      }
      // A fragment's arguments are the same wherever it is spread: each is walked once.
      const fragment = fragments.get(selection.name.value);
      if (!fragment || visited.has(fragment.name.value)) return false;
      visited.add(fragment.name.value);
      return selections(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value));
    });

  selections(operation.selectionSet, schema.getRootType(operation.operation) ?? undefined);
  return found;
}

/**
 * Refuses, once and at the boundary, any operation whose arguments hold a string no store can keep
 * (see findInvalidArgument), with BAD_USER_INPUT naming the argument's path and HTTP 400, before
 * anything is planned, priced or sent to a subgraph. Without it such values reached PostgreSQL and
 * came back as masked INTERNAL_SERVER_ERRORs, and poisoned the audit batch they were written in.
 */
export function inputValidationPlugin(options: InputValidationOptions = {}): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operationName, request }) {
          const operation = getOperationAST(document, operationName);
          if (!operation) return;
          const invalid = findInvalidArgument(schema, document, operation, (request.variables ?? {}) as Record<string, unknown>, options);
          if (invalid) {
            throw requestError('BAD_USER_INPUT', `Invalid argument "${invalid.path}" of ${invalid.coordinate}: it ${invalid.reason}`, {
              argumentName: invalid.path,
            });
          }
        },
      };
    },
  };
}
