import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import { type AuditInput, type AuditLog, discloses, holdResponse, isPhiType, PHI_TYPES, requestError } from '@healthgraph/platform';
import {
  type DocumentNode,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  print,
  type SelectionNode,
  type SelectionSetNode,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { GatewayContext } from '../context.js';
import { fragmentsOf } from '../fragments.js';

/**
 * The audit trail records exactly what each caller received, at the one place that knows it: the
 * gateway's final answer, after every subgraph has answered, field rules have removed what they
 * remove and failures have nulled what they null. Whatever the data came from (a subgraph, a
 * cache, a shared fetch), every PHI field and row in the answer is recorded, and nothing that is
 * not in it. The answer is released only once its events are durable (AuditLog.write); if they
 * cannot be made durable the caller gets AUDIT_UNAVAILABLE (503) and no PHI.
 *
 * To attribute every object to its patient, the operation is planned with a few hidden selections
 * (ids, an appointment's patient id, the concrete type behind an interface, the node behind an
 * edge's cursor), all answered by the subgraph that already serves the object, and removed again
 * before the answer leaves.
 */

/** Prefix of the hidden selections; a client's own alias may not start with it. */
export const HIDDEN = 'hgAudit__';
const hidden = (name: string) => `${HIDDEN}${name}`;

const field = (alias: string, name: string, selections?: readonly SelectionNode[]): FieldNode => ({
  kind: Kind.FIELD,
  alias: { kind: Kind.NAME, value: hidden(alias) },
  name: { kind: Kind.NAME, value: name },
  ...(selections ? { selectionSet: { kind: Kind.SELECTION_SET, selections } } : {}),
});

const fieldsOf = (type: GraphQLNamedType) => (isObjectType(type) || isInterfaceType(type) ? type.getFields() : {});

/** The PHI type an edge or connection leads to, if any. */
function phiNodeOf(type: GraphQLNamedType): GraphQLNamedType | undefined {
  const node = fieldsOf(type).node;
  if (!node) return undefined;
  const named = getNamedType(node.type);
  return isPhiType(named.name) || (isAbstractType(named) && named.name === 'ClinicalRecord') ? named : undefined;
}
function phiEdgeOf(type: GraphQLNamedType): GraphQLNamedType | undefined {
  const edges = fieldsOf(type).edges;
  const edge = edges && getNamedType(edges.type);
  return edge && phiNodeOf(edge) ? edge : undefined;
}

/** The hidden selections a selection set on `type` needs for the audit. */
function hiddenSelections(schema: GraphQLSchema, type: GraphQLNamedType): FieldNode[] {
  const selections: FieldNode[] = [];
  const fields = fieldsOf(type);
  if (isAbstractType(type)) selections.push(field('type', '__typename'));
  const phi = isPhiType(type.name) || (isAbstractType(type) && schema.getPossibleTypes(type).some((t) => isPhiType(t.name)));
  if (phi && fields.id) selections.push(field('id', 'id'));
  const kind = isPhiType(type.name) ? PHI_TYPES[type.name] : undefined;
  if ((kind === 'patientField' || kind === 'envelope') && fields.patient) selections.push(field('patient', 'patient', [field('id', 'id')]));
  const node = phiNodeOf(type);
  if (node) selections.push(field('node', 'node', hiddenSelections(schema, node)));
  const edge = phiEdgeOf(type);
  if (edge) selections.push(field('edges', 'edges', [field('node', 'node', hiddenSelections(schema, phiNodeOf(edge)!))]));
  return selections;
}

/** The operation with the audit's hidden selections added wherever they are needed (operation and fragments). */
export function withAuditSelections(schema: GraphQLSchema, document: DocumentNode): DocumentNode {
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (node.alias?.value.startsWith(HIDDEN)) throw requestError('BAD_USER_INPUT', `Aliases starting with "${HIDDEN}" are reserved`);
      },
      SelectionSet: {
        leave(node: SelectionSetNode) {
          const type = typeInfo.getParentType();
          if (!type) return undefined;
          const added = hiddenSelections(schema, type);
          return added.length === 0 ? undefined : { ...node, selections: [...node.selections, ...added] };
        },
      },
    }),
  );
}

/** Events of one answer, grouped per patient and record type as they are stored. */
class Disclosures {
  private readonly byKey = new Map<string, { patientId: string | null; resourceType: string; ids: Set<string>; paths: Set<string> }>();

  add(patientId: string | null, resourceType: string, id: unknown, path: string): void {
    this.of(patientId, resourceType, id).add(path);
  }

  /** The coordinates disclosed of one object: looked up once per object, not once per field. */
  of(patientId: string | null, resourceType: string, id: unknown): Set<string> {
    const key = `${patientId}\u0000${resourceType}`;
    let entry = this.byKey.get(key);
    if (!entry) {
      entry = { patientId, resourceType, ids: new Set(), paths: new Set() };
      this.byKey.set(key, entry);
    }
    if (typeof id === 'string') entry.ids.add(id);
    return entry.paths;
  }

  events(context: GatewayContext): AuditInput[] {
    const { principal, requestId, correlationId } = context;
    return [...this.byKey.values()].map((entry) => ({
      actorSub: principal.sub,
      actorRole: principal.role,
      purpose: principal.purpose,
      breakGlassReason: principal.breakGlassReason ?? null,
      requestId,
      correlationId,
      patientId: entry.patientId,
      resourceType: entry.resourceType,
      resourceIds: [...entry.ids].sort(),
      fieldPaths: [...entry.paths].sort(),
      outcome: 'DISCLOSED' as const,
    }));
  }
}

type Data = Record<string, unknown>;

/** `Type.field`, made once per pair: an answer repeats the same few coordinates for every row. */
const coordinates = new Map<string, Map<string, string>>();
function coordinate(type: string, field: string): string {
  let fields = coordinates.get(type);
  if (!fields) {
    fields = new Map();
    coordinates.set(type, fields);
  }
  let made = fields.get(field);
  if (made === undefined) {
    made = `${type}.${field}`;
    fields.set(field, made);
  }
  return made;
}
const isData = (value: unknown): value is Data => typeof value === 'object' && value !== null && !Array.isArray(value);
const idOf = (value: unknown) => (isData(value) ? value[hidden('id')] : undefined);

/** Whose data an object is, given what encloses it. */
function patientOf(type: string, value: Data, enclosing: string | null): string | null {
  if (!isPhiType(type)) return enclosing;
  switch (PHI_TYPES[type]) {
    case 'self':
      return typeof idOf(value) === 'string' ? (idOf(value) as string) : enclosing;
    case 'patientField':
    case 'envelope': {
      const patient = idOf(value[hidden('patient')]);
      return typeof patient === 'string' ? patient : enclosing;
    }
    case 'enclosingPatient':
      return enclosing;
  }
}

/**
 * Every PHI coordinate and row id in the answer, walked with the operation that produced it: a
 * field counts only if it is in the answer and not null. An edge's cursor (which encodes the
 * node's sort key) and a page's endCursor count as a disclosure of the node they point at.
 */
export function disclosuresIn(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, data: Data): Disclosures {
  const fragments = fragmentsOf(document);
  const found = new Disclosures();

  const applies = (condition: string | undefined, concrete: GraphQLCompositeType) => {
    if (!condition || condition === concrete.name) return true;
    const target = schema.getType(condition);
    return Boolean(target && isAbstractType(target) && isObjectType(concrete) && schema.isSubType(target, concrete));
  };

  /** The node an edge points at, as (patient, type, id). */
  const nodeBehind = (edge: Data, enclosing: string | null) => {
    const node = edge[hidden('node')];
    if (!isData(node)) return undefined;
    const declared = node[hidden('type')];
    const type = typeof declared === 'string' ? declared : undefined;
    return { node, type, id: idOf(node), enclosing };
  };

  const walk = (set: SelectionSetNode, declared: GraphQLCompositeType, value: unknown, enclosing: string | null): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(set, declared, item, enclosing);
      return;
    }
    if (!isData(value)) return;
    const typename = value[hidden('type')];
    const concrete = (typeof typename === 'string' ? schema.getType(typename) : declared) as GraphQLCompositeType;
    const patient = patientOf(concrete.name, value, enclosing);
    const phi = discloses(concrete.name);
    const node = phiNodeOf(concrete);
    // Made on the object's first field in the answer: an object with every field null discloses nothing.
    let paths: Set<string> | undefined;
    const visit = (selections: SelectionSetNode) => {
      for (const selection of selections.selections) {
        if (selection.kind === Kind.INLINE_FRAGMENT) {
          if (applies(selection.typeCondition?.name.value, concrete)) visit(selection.selectionSet);
          continue;
        }
        if (selection.kind === Kind.FRAGMENT_SPREAD) {
          const fragment = fragments.get(selection.name.value);
          if (fragment && applies(fragment.typeCondition.name.value, concrete)) visit(fragment.selectionSet);
          continue;
        }
        const key = selection.alias?.value ?? selection.name.value;
        if (key.startsWith(HIDDEN) || selection.name.value === '__typename') continue;
        const child = value[key];
        if (child === null || child === undefined) continue;
        if (phi) {
          paths ??= found.of(patient, concrete.name, idOf(value));
          paths.add(coordinate(concrete.name, selection.name.value));
        }
        if (node && selection.name.value === 'cursor') {
          const behind = nodeBehind(value, patient);
          const nodeType = behind?.type ?? node.name;
          if (behind && isPhiType(nodeType))
            found.add(patientOf(nodeType, behind.node, patient), nodeType, behind.id, `${concrete.name}.cursor`);
        }
        const definition = fieldsOf(concrete)[selection.name.value];
        if (!definition) continue;
        const type = getNamedType(definition.type);
        if (selection.name.value === 'pageInfo' && phiEdgeOf(concrete)) {
          const edges = value[hidden('edges')];
          const last = Array.isArray(edges) ? edges.at(-1) : undefined;
          const behind = isData(last) ? nodeBehind(last, patient) : undefined;
          const nodeType = behind?.type ?? phiNodeOf(phiEdgeOf(concrete)!)?.name;
          const endCursor = isData(child) && child.endCursor !== null && child.endCursor !== undefined;
          if (behind && endCursor && nodeType && isPhiType(nodeType)) {
            found.add(patientOf(nodeType, behind.node, patient), nodeType, behind.id, 'PageInfo.endCursor');
          }
        }
        if (selection.selectionSet && isCompositeType(type)) walk(selection.selectionSet, type, child, patient);
      }
    };
    visit(set);
  };

  const root = schema.getRootType(operation.operation);
  if (root) walk(operation.selectionSet, root, data, null);
  return found;
}

/** Removes the hidden selections from an answer, in place. */
export function stripHidden(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) stripHidden(item);
    return;
  }
  if (!isData(value)) return;
  for (const key of Object.keys(value)) {
    if (key.startsWith(HIDDEN)) delete value[key];
    else stripHidden(value[key]);
  }
}

const SHAPES_MAX = 2_000;

/**
 * A refusal the gateway itself decides, as an audit event: fields removed before planning
 * (`Operation`, the coordinates refused) or a whole request turned away for load (`Request`, the code).
 */
export function gatewayRefusal(
  context: Pick<GatewayContext, 'principal' | 'requestId' | 'correlationId'>,
  resourceType: 'Operation' | 'Request',
  { fieldPaths = [], resourceIds = [] }: { fieldPaths?: string[]; resourceIds?: string[] },
): AuditInput {
  const { principal } = context;
  return {
    actorSub: principal.sub,
    actorRole: principal.role,
    purpose: principal.purpose,
    breakGlassReason: principal.breakGlassReason ?? null,
    patientId: null,
    resourceType,
    resourceIds,
    fieldPaths,
    requestId: context.requestId,
    correlationId: context.correlationId,
    outcome: 'DENIED',
  };
}

export interface AuditPluginOptions {
  audit: AuditLog;
}

/** Records every disclosure in the final answer, durably, before the answer is released. */
export function auditPlugin({ audit }: AuditPluginOptions): ApolloServerPlugin<GatewayContext> {
  // The audited shape of each operation, by the hash the plan cache uses: one rewrite per operation, not per request.
  const shapes = new Map<string, { document: DocumentNode; queryHash: string }>();
  return {
    async requestDidStart() {
      let audited: { document: DocumentNode; operation: OperationDefinitionNode } | undefined;
      return {
        async didResolveOperation(requestContext) {
          // Synchronous on purpose: the plugins before this one (field rules, cost) have finished with the document.
          const { schema, operationName, queryHash } = requestContext;
          const key = `${queryHash}\u0000${operationName ?? ''}`;
          let shape = shapes.get(key);
          if (!shape) {
            const document = withAuditSelections(schema, requestContext.document);
            shape = { document, queryHash: createHash('sha256').update(print(document)).digest('hex') };
            if (shapes.size >= SHAPES_MAX) shapes.clear();
            shapes.set(key, shape);
          }
          const operation = getOperationAST(shape.document, operationName);
          if (!operation) return;
          const mutable = requestContext as { document: DocumentNode; queryHash: string; operation?: OperationDefinitionNode };
          mutable.document = shape.document;
          mutable.queryHash = shape.queryHash;
          mutable.operation = operation;
          audited = { document: shape.document, operation };
        },
        async willSendResponse({ response, schema, contextValue }) {
          if (!audited || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          const events = result.data
            ? disclosuresIn(schema, audited.document, audited.operation, result.data as Data).events(contextValue)
            : [];
          if (result.data) stripHidden(result.data);
          if (events.length === 0) return;
          const written = audit.write(events).catch(() => {
            // No durable record, no disclosure (45 CFR 164.312(b)): the PHI stays here.
            const refusal = requestError(
              'AUDIT_UNAVAILABLE',
              'The answer could not be recorded in the audit trail, so it is withheld: try again shortly',
            );
            response.body = {
              kind: 'single',
              singleResult: { data: null, errors: [{ message: refusal.message, extensions: { code: 'AUDIT_UNAVAILABLE' } }] },
            };
            response.http.status = 503;
            response.http.headers.set('retry-after', '1');
          });
          holdResponse(contextValue, written);
          await written;
        },
      };
    },
  };
}
