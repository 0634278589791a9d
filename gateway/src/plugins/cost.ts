import type { ApolloServerPlugin } from '@apollo/server';
import { counter, histogram, type Role, requestError } from '@healthgraph/platform';
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  getOperationAST,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { GatewayContext } from '../context.js';
import { fragmentsOf } from '../fragments.js';

/** IBM GraphQL cost directive specification, as composed into the supergraph (@cost, @listSize). */
export interface CostRule {
  weight?: number;
  listSize?: { assumedSize?: number; slicingArguments: string[]; sizedFields: string[]; requireOneSlicingArgument: boolean };
}
export type CostRules = ReadonlyMap<string, CostRule>;

/** Size assumed for a list with no @listSize. */
export const DEFAULT_LIST_SIZE = 10;
/** What every mutation costs on top of its fields (as Apollo Router prices them). */
export const MUTATION_BASE = 10;

const intOf = (value: ValueNode | undefined): number | undefined => (value?.kind === Kind.INT ? Number(value.value) : undefined);
const stringsOf = (value: ValueNode | undefined): string[] =>
  value?.kind === Kind.LIST ? value.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : [])) : [];

/** Reads @cost and @listSize from the supergraph SDL into a `Type.field` table. */
export function readCostRules(supergraphSdl: string): CostRules {
  const rules = new Map<string, CostRule>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    for (const field of definition.fields ?? []) {
      const rule: CostRule = {};
      for (const directive of field.directives ?? []) {
        const arg = (name: string) => directive.arguments?.find((a) => a.name.value === name)?.value;
        if (directive.name.value === 'cost') rule.weight = intOf(arg('weight'));
        if (directive.name.value === 'listSize') {
          const require = arg('requireOneSlicingArgument');
          rule.listSize = {
            assumedSize: intOf(arg('assumedSize')),
            slicingArguments: stringsOf(arg('slicingArguments')),
            sizedFields: stringsOf(arg('sizedFields')),
            requireOneSlicingArgument: require?.kind === Kind.BOOLEAN ? require.value : true,
          };
        }
      }
      if (rule.weight !== undefined || rule.listSize) rules.set(`${definition.name.value}.${field.name.value}`, rule);
    }
  }
  return rules;
}

interface Walk {
  schema: GraphQLSchema;
  rules: CostRules;
  fragments: Map<string, FragmentDefinitionNode>;
  mutation: boolean;
  variables: Record<string, unknown>;
  /** The operation's variable definitions: a variable left out takes its default value. */
  defaults: Map<string, ValueNode | undefined>;
  /** Variables read as slicing arguments. */
  read: Set<string>;
  /** Fields whose @listSize requires exactly one slicing argument and did not get it. */
  unsliced: Set<string>;
}

const integer = (value: unknown): number | null | undefined =>
  value === null ? null : typeof value === 'number' && Number.isInteger(value) ? value : undefined;

/**
 * The value a slicing argument will have when the field runs, as GraphQL coerces it: a literal, a
 * variable's value, a left-out variable's default, else the argument's own default. `null` (given
 * as null) and `undefined` (not given, or not an integer: refused later by coercion) both mean no
 * size was asked for.
 */
function slicingValue(walk: Walk, field: FieldNode, definition: GraphQLField<unknown, unknown>, name: string): number | null | undefined {
  const value = field.arguments?.find((a) => a.name.value === name)?.value;
  if (value?.kind === Kind.VARIABLE) {
    const variable = value.name.value;
    walk.read.add(variable);
    if (Object.hasOwn(walk.variables, variable)) return integer(walk.variables[variable]);
    const fallback = walk.defaults.get(variable);
    if (fallback) return fallback.kind === Kind.NULL ? null : intOf(fallback);
  } else if (value) {
    return value.kind === Kind.NULL ? null : intOf(value);
  }
  // Not given (or a variable left out without a default): the argument's own default, if any.
  return integer(definition.args.find((a) => a.name === name)?.defaultValue);
}

/** The list size a field's slicing arguments ask for, or its assumed size; notes a field that needed exactly one and did not get it. */
function sliceSize(
  walk: Walk,
  parent: GraphQLNamedType,
  rule: CostRule | undefined,
  field: FieldNode,
  definition: GraphQLField<unknown, unknown> | undefined,
): number | undefined {
  const listSize = rule?.listSize;
  if (!listSize || !definition) return undefined;
  const sizes = listSize.slicingArguments.flatMap((name) => {
    const size = slicingValue(walk, field, definition, name);
    return typeof size === 'number' ? [size] : [];
  });
  // IBM cost spec: with requireOneSlicingArgument, exactly one slicing argument must have a value.
  if (listSize.requireOneSlicingArgument && listSize.slicingArguments.length > 0 && sizes.length !== 1) {
    walk.unsliced.add(`${parent.name}.${field.name.value}`);
  }
  return sizes.length > 0 ? Math.max(0, ...sizes) : listSize.assumedSize;
}

function fieldWeight(
  walk: Pick<Walk, 'rules'>,
  parent: GraphQLNamedType,
  field: FieldNode,
): {
  weight: number;
  rule: CostRule | undefined;
  type: GraphQLNamedType | undefined;
  list: boolean;
  definition: GraphQLField<unknown, unknown> | undefined;
} {
  if (!isObjectType(parent) && !isInterfaceType(parent))
    return { weight: 0, rule: undefined, type: undefined, list: false, definition: undefined };
  const definition = parent.getFields()[field.name.value];
  if (!definition) return { weight: 0, rule: undefined, type: undefined, list: false, definition: undefined };
  const rule = walk.rules.get(`${parent.name}.${field.name.value}`);
  const type = getNamedType(definition.type);
  const weight = rule?.weight ?? (isCompositeType(type) ? 1 : 0);
  return { weight, rule, type, list: isListType(getNullableType(definition.type)), definition };
}

/** Input objects cost 1 each (nested ones too), lists the sum of their items, scalars nothing. */
function argumentsCost(field: FieldNode, variables: Record<string, unknown>): number {
  const ofValue = (value: unknown): number =>
    Array.isArray(value)
      ? value.reduce((n: number, item) => n + ofValue(item), 0)
      : value && typeof value === 'object'
        ? 1 + Object.values(value).reduce((n: number, item) => n + ofValue(item), 0)
        : 0;
  const ofNode = (node: ValueNode): number =>
    node.kind === Kind.OBJECT
      ? 1 + node.fields.reduce((n, f) => n + ofNode(f.value), 0)
      : node.kind === Kind.LIST
        ? node.values.reduce((n, v) => n + ofNode(v), 0)
        : node.kind === Kind.VARIABLE
          ? ofValue(variables[node.name.value])
          : 0;
  return (field.arguments ?? []).reduce((n, argument) => n + ofNode(argument.value), 0);
}

/** What an operation is estimated to cost before it runs. */
export interface CostEstimate {
  cost: number;
  /** The variables the estimate read as slicing arguments (an estimate holds for these values only). */
  slicingVariables: string[];
  /** `Type.field` of every list whose @listSize requires exactly one slicing argument and did not get one. */
  unsliced: string[];
}

/**
 * The static cost of an operation before it runs: each object costs 1 (or its @cost weight), each
 * scalar 0, and a list multiplies the cost of one item by its size: the slicing argument's value
 * (a left-out variable counts with its default), else @listSize's assumed size, else 10.
 * sizedFields carry a connection's slicing argument to its `edges`. Fragments are memoised per
 * size context, so their repetition cannot blow up the walk.
 */
export function estimateCost(
  schema: GraphQLSchema,
  rules: CostRules,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
): CostEstimate {
  const walk: Walk = {
    schema,
    rules,
    fragments: fragmentsOf(document),
    mutation: operation.operation === 'mutation',
    variables,
    defaults: new Map((operation.variableDefinitions ?? []).map((d) => [d.variable.name.value, d.defaultValue])),
    read: new Set(),
    unsliced: new Set(),
  };
  const memo = new Map<string, number>();
  const cost = (set: SelectionSetNode, parent: GraphQLNamedType, sized: ReadonlyMap<string, number> | undefined): number => {
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        const { weight, rule, type, list, definition } = fieldWeight(walk, parent, selection);
        const size = sliceSize(walk, parent, rule, selection, definition);
        const multiplier = list ? (sized?.get(selection.name.value) ?? size ?? DEFAULT_LIST_SIZE) : 1;
        const childSized = rule?.listSize?.sizedFields.length
          ? new Map(rule.listSize.sizedFields.map((name) => [name, size ?? DEFAULT_LIST_SIZE]))
          : undefined;
        const children = selection.selectionSet && type ? cost(selection.selectionSet, type, childSized) : 0;
        total += multiplier * (weight + children) + argumentsCost(selection, variables);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (type) total += cost(selection.selectionSet, type, sized);
      } else {
        const fragment = walk.fragments.get(selection.name.value);
        const type = fragment && schema.getType(fragment.typeCondition.name.value);
        if (!fragment || !type) continue;
        const key = `${fragment.name.value}|${sized ? [...sized].join(',') : ''}`;
        if (!memo.has(key)) {
          memo.set(key, 0); // a cycle (refused by validation anyway) costs nothing more
          memo.set(key, cost(fragment.selectionSet, type, sized));
        }
        total += memo.get(key)!;
      }
    }
    return Math.min(total, Number.MAX_SAFE_INTEGER);
  };
  const root = schema.getRootType(operation.operation);
  const base = walk.mutation ? MUTATION_BASE : 0;
  return {
    cost: root ? Math.min(base + cost(operation.selectionSet, root, undefined), Number.MAX_SAFE_INTEGER) : 0,
    slicingVariables: [...walk.read].sort(),
    unsliced: [...walk.unsliced].sort(),
  };
}

/** The cost of what was actually returned, by the same weights, counting real list lengths. */
export function actualCost(
  schema: GraphQLSchema,
  rules: CostRules,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  data: unknown,
): number {
  const walk = { rules, fragments: fragmentsOf(document), mutation: operation.operation === 'mutation' };
  /** What each field of a selection set costs on a parent type, worked out once per walk, not once per item of a list. */
  type Priced = { key: string; weight: number; type: GraphQLNamedType | undefined; set: SelectionSetNode | undefined };
  const priced = new Map<SelectionSetNode, Map<GraphQLNamedType, Priced[]>>();
  const fieldsOfSet = (set: SelectionSetNode, parent: GraphQLNamedType): Priced[] => {
    let byParent = priced.get(set);
    if (!byParent) {
      byParent = new Map();
      priced.set(set, byParent);
    }
    let fields = byParent.get(parent);
    if (!fields) {
      fields = [];
      for (const selection of set.selections) {
        if (selection.kind !== Kind.FIELD || selection.name.value.startsWith('__')) continue;
        const { weight, type } = fieldWeight(walk, parent, selection);
        // Most fields are scalars of weight 0: nothing to count.
        if (weight === 0 && !selection.selectionSet) continue;
        fields.push({ key: selection.alias?.value ?? selection.name.value, weight, type, set: selection.selectionSet });
      }
      byParent.set(parent, fields);
    }
    return fields;
  };
  const cost = (set: SelectionSetNode, parent: GraphQLNamedType, value: unknown, spreads: ReadonlySet<string>): number => {
    if (!value || typeof value !== 'object') return 0;
    const record = value as Record<string, unknown>;
    let total = 0;
    for (const { key, weight, type, set: childSet } of fieldsOfSet(set, parent)) {
      const result = record[key];
      if (result === null || result === undefined) continue;
      const items = Array.isArray(result) ? result : [result];
      for (const item of items) {
        if (item === null || item === undefined) continue;
        total += weight + (childSet && type ? cost(childSet, type, item, spreads) : 0);
      }
    }
    for (const selection of set.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (type) total += cost(selection.selectionSet, type, value, spreads);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = walk.fragments.get(selection.name.value);
        const type = fragment && schema.getType(fragment.typeCondition.name.value);
        if (fragment && type && !spreads.has(fragment.name.value))
          total += cost(fragment.selectionSet, type, value, new Set([...spreads, fragment.name.value]));
      }
    }
    return total;
  };
  const root = schema.getRootType(operation.operation);
  return root ? (walk.mutation ? MUTATION_BASE : 0) + cost(operation.selectionSet, root, data, new Set()) : 0;
}

export interface CostOptions {
  mode: 'measure' | 'enforce';
  budgets: Record<Role, number>;
}

/** Running totals for metrics. */
export interface CostStats {
  operations: number;
  rejected: number;
  estimatedTotal: number;
  actualTotal: number;
}

const CACHE_LIMIT = 5_000;
/** Distinct slicing-variable values remembered per operation. */
const VALUES_LIMIT = 100;

const costMetrics = {
  cost: histogram(
    'healthgraph_operation_cost',
    'Estimated (before execution) and actual (after) operation cost',
    [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000],
    ['kind'] as const,
  ),
  rejections: counter('healthgraph_cost_rejections_total', 'Operations refused as too expensive'),
};

/**
 * A variable's value as the estimate saw it: left out and given as null price differently (a
 * left-out variable takes its default), so they must not share a cache entry.
 */
const valuesKey = (names: readonly string[], variables: Record<string, unknown>) =>
  JSON.stringify(names.map((name) => (Object.hasOwn(variables, name) ? [variables[name]] : [])));

/**
 * Prices every operation before any subgraph is called (on the document already stripped of fields
 * the caller may not read) and, in enforce mode, refuses one over the caller's role budget. The
 * budget holds for a whole HTTP request: the operations of a batch spend one budget together.
 * Refuses a list field whose @listSize requires one slicing argument and gets none (in either
 * mode: it is the field's contract, not a budget). Reports estimated and actual cost in the
 * response extensions when the request asks (`"extensions": { "cost": true }`). Estimates are
 * cached per operation (document and operation name) and slicing-variable values.
 */
export function costPlugin(rules: CostRules, { mode, budgets }: CostOptions, stats: CostStats): ApolloServerPlugin<GatewayContext> {
  const cache = new Map<string, { variables: string[]; estimates: Map<string, CostEstimate> }>();
  // What each HTTP request has spent so far. Apollo Server hands every operation of a batch its own
  // shallow copy of the context, but the same request head; the head is made anew per HTTP request.
  const spent = new WeakMap<object, number>();
  return {
    async requestDidStart() {
      let estimated = 0;
      let budget = 0;
      // The operation as priced: later plugins (the audit) may add hidden selections that nobody pays for.
      let priced: DocumentNode | undefined;
      return {
        async didResolveOperation({ schema, document, operationName, queryHash, request, contextValue }) {
          priced = document;
          // The document as field authorization left it: nobody pays for what they may not read.
          const operation = getOperationAST(document, operationName);
          if (!operation) return;
          const variables = (request.variables ?? {}) as Record<string, unknown>;
          // One document may hold several operations: each has its own price.
          const key = `${queryHash}:${operation.name?.value ?? ''}`;
          const known = cache.get(key);
          let estimate = known?.estimates.get(valuesKey(known.variables, variables));
          if (!estimate) {
            estimate = estimateCost(schema, rules, document, operation, variables);
            if (cache.size >= CACHE_LIMIT) cache.clear();
            const entry = known ?? { variables: estimate.slicingVariables, estimates: new Map<string, CostEstimate>() };
            if (entry.estimates.size >= VALUES_LIMIT) entry.estimates.clear();
            entry.estimates.set(valuesKey(entry.variables, variables), estimate);
            cache.set(key, entry);
          }
          if (estimate.unsliced.length > 0) {
            const field = estimate.unsliced[0]!;
            const slicing = rules.get(field)?.listSize?.slicingArguments ?? [];
            throw requestError(
              'BAD_USER_INPUT',
              `The list field ${field} needs exactly one of its slicing arguments (${slicing.join(', ')}) to say how many items to return`,
              { field },
            );
          }
          const cost = estimate.cost;
          estimated = cost;
          budget = budgets[contextValue.principal.role];
          stats.operations++;
          stats.estimatedTotal += cost;
          costMetrics.cost.observe({ kind: 'estimated' }, cost);
          const shared = request.http?.headers ?? contextValue;
          const before = spent.get(shared) ?? 0;
          const total = Math.min(before + cost, Number.MAX_SAFE_INTEGER);
          if (mode === 'enforce' && total > budget) {
            stats.rejected++;
            costMetrics.rejections.inc();
            throw new GraphQLError(
              before > 0
                ? `The operations of this request are estimated to cost ${total} together (this one ${cost}), over this role's budget of ${budget}: send fewer or smaller operations`
                : `The operation is estimated to cost ${cost}, over this role's budget of ${budget}: ask for fewer items or fewer fields`,
              {
                extensions: {
                  code: 'COST_ESTIMATED_TOO_EXPENSIVE',
                  cost: before > 0 ? { estimated: cost, requestTotal: total, budget } : { estimated: cost, budget },
                  http: { status: 400 },
                },
              },
            );
          }
          // Only what is let through is spent: a refused operation runs nothing.
          spent.set(shared, total);
        },
        async willSendResponse({ schema, operationName, request, response }) {
          const document = priced;
          const operation = document && getOperationAST(document, operationName);
          if (!document || !operation || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          const actual = result.data ? actualCost(schema, rules, document, operation, result.data) : 0;
          stats.actualTotal += actual;
          costMetrics.cost.observe({ kind: 'actual' }, actual);
          if ((request.extensions as { cost?: unknown } | undefined)?.cost === true) {
            result.extensions = { ...result.extensions, cost: { estimated, actual, budget, mode } };
          }
        },
      };
    },
  };
}
