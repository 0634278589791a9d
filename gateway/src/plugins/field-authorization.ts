import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import { requiredScopes, satisfies, scopesFor } from '@healthgraph/platform';
import {
  type DocumentNode,
  type FieldNode,
  GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  getOperationAST,
  isAbstractType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  type SelectionSetNode,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { GatewayContext } from '../context.js';
import { fragmentsOf } from '../fragments.js';

/** filter: unauthorized fields come back null with an error each; reject: the whole operation is refused. */
export type FieldAuthorizationMode = 'filter' | 'reject';

/** `Type.field` -> the scope groups it requires (any group, every scope in it). */
export type FieldRules = ReadonlyMap<string, readonly (readonly string[])[]>;

const SECURITY_LINK = /(@link\(url: "https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes)\/v[\d.]+"), for: SECURITY\)/g;
/** Stands in for a selection set left empty by filtering; removed from the result again. */
const PLACEHOLDER = 'hgUnauthorized__';
export const UNAUTHORIZED = 'UNAUTHORIZED_FIELD_OR_TYPE';

/**
 * Reads @requiresScopes from the supergraph into a rule table. @authenticated needs no table: the
 * gateway refuses every unauthenticated request. Rules on types, scalars or enums are refused at
 * load, because this gateway enforces field rules only and must not silently ignore one.
 */
export function readFieldRules(supergraphSdl: string): FieldRules {
  const rules = new Map<string, string[][]>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (!('name' in definition) || !definition.name) continue;
    if ('directives' in definition && definition.directives?.some((d) => d.name.value === 'requiresScopes')) {
      throw new Error(`@requiresScopes on type ${definition.name.value} is not enforced by this gateway: declare it on fields`);
    }
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    for (const field of definition.fields ?? []) {
      const groups = requiredScopes(field.directives);
      if (groups) rules.set(`${definition.name.value}.${field.name.value}`, groups);
    }
  }
  return rules;
}

/** One step of a response path, with what null propagation needs to know about it. */
export interface Segment {
  key: string;
  /** The schema coordinate (`Type.field`) selected at this step. */
  coordinate?: string;
  nonNull: boolean;
  list: boolean;
  itemNonNull: boolean;
}

function segmentOf(key: string, type: GraphQLOutputType): Segment {
  const nullable = getNullableType(type);
  const list = isListType(nullable);
  return { key, nonNull: isNonNullType(type), list, itemNonNull: list && isNonNullType(nullable.ofType) };
}

/** May a caller holding these scopes read `field` on `parent`? Through an interface, every implementation's rule applies. */
function fieldAllowed(
  schema: GraphQLSchema,
  rules: FieldRules,
  held: ReadonlySet<string>,
  parent: GraphQLNamedType,
  field: string,
): boolean {
  if (field.startsWith('__')) return true;
  const types = isAbstractType(parent) ? [parent, ...schema.getPossibleTypes(parent)] : [parent];
  return types.every((type) => {
    const groups = rules.get(`${type.name}.${field}`);
    return !groups || satisfies(held, groups);
  });
}

/** Response paths of every unauthorized field the operation selects, fragments and aliases included. */
export function unauthorizedPaths(
  schema: GraphQLSchema,
  rules: FieldRules,
  held: ReadonlySet<string>,
  document: DocumentNode,
  operationName?: string | null,
): Segment[][] {
  const fragments = fragmentsOf(document);
  const operation = document.definitions.find(
    (d) => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION) return [];
  const root = schema.getRootType(operation.operation);
  if (!root) return [];
  const found = new Map<string, Segment[]>();
  // A fragment spread again at the same response path yields the same paths: walk it once there,
  // so a fragment spread exponentially many times costs linear work.
  const walked = new Set<string>();

  const walk = (selectionSet: SelectionSetNode, parent: GraphQLNamedType, path: Segment[], spreads: ReadonlySet<string>) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (type) walk(selection.selectionSet, type, path, spreads);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        const type = fragment && schema.getType(fragment.typeCondition.name.value);
        const at = `${selection.name.value}@${path.map((s) => s.key).join('.')}`;
        if (!fragment || !type || spreads.has(fragment.name.value) || walked.has(at)) continue;
        walked.add(at);
        walk(fragment.selectionSet, type, path, new Set([...spreads, fragment.name.value]));
      } else {
        const name = selection.name.value;
        if (name.startsWith('__') || !(isObjectType(parent) || isInterfaceType(parent))) continue;
        const definition: GraphQLField<unknown, unknown> | undefined = parent.getFields()[name];
        if (!definition) continue;
        const here = [...path, { ...segmentOf(selection.alias?.value ?? name, definition.type), coordinate: `${parent.name}.${name}` }];
        if (!fieldAllowed(schema, rules, held, parent, name)) found.set(here.map((s) => s.key).join('.'), here);
        else if (selection.selectionSet) walk(selection.selectionSet, getNamedType(definition.type), here, spreads);
      }
    }
  };
  walk(operation.selectionSet, root, [], new Set());
  return [...found.values()];
}

/** The document without the unauthorized fields, wherever they stand (operation or fragments). */
export function withoutUnauthorized(
  schema: GraphQLSchema,
  rules: FieldRules,
  held: ReadonlySet<string>,
  document: DocumentNode,
): DocumentNode {
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field: {
        enter(node: FieldNode) {
          const parent = typeInfo.getParentType();
          return parent && !fieldAllowed(schema, rules, held, parent, node.name.value) ? null : undefined;
        },
      },
      SelectionSet: {
        leave(node: SelectionSetNode) {
          if (node.selections.length > 0) return undefined;
          const placeholder: FieldNode = {
            kind: Kind.FIELD,
            alias: { kind: Kind.NAME, value: PLACEHOLDER },
            name: { kind: Kind.NAME, value: '__typename' },
          };
          return { ...node, selections: [placeholder] };
        },
      },
    }),
  );
}

/** Sets the value at `path` to null and lets the null propagate as GraphQL execution would. */
export function nullAt(container: Record<string, unknown>, path: Segment[], index = 0): boolean {
  const segment = path[index]!;
  if (index === path.length - 1) {
    container[segment.key] = null;
    return segment.nonNull;
  }
  const child = container[segment.key];
  if (child === null || child === undefined) return false;
  let nullHere = false;
  if (segment.list && Array.isArray(child)) {
    child.forEach((item, i) => {
      if (item && typeof item === 'object' && nullAt(item as Record<string, unknown>, path, index + 1)) {
        if (segment.itemNonNull) nullHere = true;
        else child[i] = null;
      }
    });
  } else if (typeof child === 'object') {
    nullHere = nullAt(child as Record<string, unknown>, path, index + 1);
  }
  if (!nullHere) return false;
  container[segment.key] = null;
  return segment.nonNull;
}

function dropPlaceholders(value: unknown): void {
  if (Array.isArray(value)) value.forEach(dropPlaceholders);
  else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    delete record[PLACEHOLDER];
    Object.values(record).forEach(dropPlaceholders);
  }
}

const checked = new WeakSet<object>();

/** True once field authorization has run for this request's context; subgraph calls require it. */
export const fieldAuthorizationRan = (context: object) => checked.has(context);

export interface FieldAuthorization {
  /** The supergraph as Apollo Gateway will load it (security links marked as enforced here). */
  supergraphSdl: string;
  plugin: ApolloServerPlugin<GatewayContext>;
}

/**
 * Field rules from the SDL, enforced before the query is planned. Apollo Gateway refuses
 * supergraphs whose security features it does not enforce; the copy it receives only loses that
 * refusal together with this plugin, and the subgraph data source refuses to call out for any
 * request this plugin did not check (fail closed).
 */
export function fieldAuthorization(
  supergraphSdl: string,
  mode: FieldAuthorizationMode = 'filter',
  /** Told of every refusal, with the schema coordinates refused (for the audit trail). */
  onRefusal?: (context: GatewayContext, coordinates: string[]) => void,
  /** Off only in tests that take this wall away to show the subgraphs' walls hold on their own. */
  enforce = true,
): FieldAuthorization {
  const rules: FieldRules = enforce ? readFieldRules(supergraphSdl) : new Map();
  const plugin: ApolloServerPlugin<GatewayContext> = {
    async requestDidStart() {
      let removed: Segment[][] = [];
      return {
        async didResolveOperation(requestContext) {
          const { schema, contextValue, operationName } = requestContext;
          const held = scopesFor(contextValue.principal);
          removed = unauthorizedPaths(schema, rules, held, requestContext.document, operationName);
          if (removed.length > 0) {
            const paths = removed.map((path) => path.map((s) => s.key).join('.'));
            onRefusal?.(contextValue, [...new Set(removed.map((path) => path.at(-1)!.coordinate!))].sort());
            if (mode === 'reject') {
              throw new GraphQLError(`This operation selects fields the caller may not read: ${paths.join(', ')}`, {
                extensions: { code: UNAUTHORIZED, paths, http: { status: 403 } },
              });
            }
            const filtered = withoutUnauthorized(schema, rules, held, requestContext.document);
            const mutable = requestContext as { document: DocumentNode; queryHash: string; operation?: OperationDefinitionNode };
            mutable.document = filtered;
            // Later plugins (pricing) and the executor must all see the filtered operation.
            mutable.operation = getOperationAST(filtered, operationName) ?? undefined;
            // The plan cache is keyed by this hash: a plan made for a wider scope must never be replayed.
            mutable.queryHash = createHash('sha256').update(print(filtered)).digest('hex');
          }
          checked.add(contextValue);
        },
        async willSendResponse({ response }) {
          if (removed.length === 0 || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (result.data) {
            dropPlaceholders(result.data);
            const data = result.data as Record<string, unknown>;
            let nullRoot = false;
            for (const path of removed) nullRoot = nullAt(data, path) || nullRoot;
            if (nullRoot) result.data = null;
          }
          const errors = removed.map(
            (path) =>
              new GraphQLError('The caller may not read this field', { path: path.map((s) => s.key), extensions: { code: UNAUTHORIZED } }),
          );
          result.errors = [...(result.errors ?? []), ...errors];
        },
      };
    },
  };
  return { supergraphSdl: supergraphSdl.replace(SECURITY_LINK, '$1)'), plugin };
}
