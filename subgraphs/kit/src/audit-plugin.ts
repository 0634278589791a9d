import type { ApolloServerPlugin } from '@apollo/server';
import type { AuditLog, AuditRecord } from '@healthgraph/platform';
import type { SubgraphContext } from './context.js';

/** Types whose fields are PHI, and how to tell whose: declared once, for every subgraph. */
export const PHI_TYPES: Record<string, { resourceType: string; patientIdOf: (source: Record<string, unknown>) => unknown }> = {
  Patient: { resourceType: 'Patient', patientIdOf: (s) => s.id },
  Appointment: { resourceType: 'Appointment', patientIdOf: (s) => s.patientId },
  Allergy: { resourceType: 'Allergy', patientIdOf: (s) => s.patientId },
  Medication: { resourceType: 'Medication', patientIdOf: (s) => s.patientId },
  Condition: { resourceType: 'Condition', patientIdOf: (s) => s.patientId },
  Observation: { resourceType: 'Observation', patientIdOf: (s) => s.patientId },
  ClinicalNote: { resourceType: 'ClinicalNote', patientIdOf: (s) => s.patientId },
};

/** Root fields that name the patient in their arguments, so a refusal can be attributed to one. */
const PATIENT_ARGUMENT: Record<string, (args: Record<string, unknown>) => unknown> = {
  'Query.patient': (args) => args.id,
  'Mutation.bookAppointment': (args) => (args.input as { patientId?: unknown } | undefined)?.patientId,
};

const REFUSALS = new Set(['FORBIDDEN', 'NOT_FOUND', 'UNAUTHORIZED_FIELD_OR_TYPE']);
const refused = (error: unknown) => REFUSALS.has((error as { extensions?: { code?: string } } | null)?.extensions?.code ?? '');

/**
 * Records, per request, every PHI field the subgraph resolved (by schema coordinate, e.g.
 * `Allergy.code`) and every refusal, grouped into one event per patient, resource type and
 * outcome. Cached reads resolve fields too, so they are audited like any other.
 */
export function auditPlugin(log: AuditLog): ApolloServerPlugin<SubgraphContext<unknown>> {
  return {
    async requestDidStart({ contextValue }) {
      const events = new Map<
        string,
        { patientId: string; resourceType: string; outcome: AuditRecord['outcome']; ids: Set<string>; paths: Set<string> }
      >();
      const add = (patientId: unknown, resourceType: string, id: unknown, coordinate: string, outcome: AuditRecord['outcome']) => {
        if (typeof patientId !== 'string') return;
        const key = `${patientId}\u0000${resourceType}\u0000${outcome}`;
        const event = events.get(key) ?? { patientId, resourceType, outcome, ids: new Set<string>(), paths: new Set<string>() };
        if (typeof id === 'string') event.ids.add(id);
        event.paths.add(coordinate);
        events.set(key, event);
      };
      return {
        async executionDidStart() {
          return {
            willResolveField({ source, info, args }) {
              const phi = PHI_TYPES[info.parentType.name];
              const coordinate = `${info.parentType.name}.${info.fieldName}`;
              if (phi) {
                if (info.fieldName === 'id' || info.fieldName === '__typename') return;
                const row = source as Record<string, unknown>;
                return (error) => {
                  if (!error) add(phi.patientIdOf(row), phi.resourceType, row.id, coordinate, 'DISCLOSED');
                  else if (refused(error)) add(phi.patientIdOf(row), phi.resourceType, row.id, coordinate, 'DENIED');
                };
              }
              const patientOf = PATIENT_ARGUMENT[coordinate];
              if (!patientOf) return;
              return (error) => {
                if (error && refused(error)) add(patientOf(args as Record<string, unknown>), 'Patient', undefined, coordinate, 'DENIED');
              };
            },
          };
        },
        async willSendResponse() {
          const { principal, requestId } = contextValue;
          for (const event of events.values()) {
            log.record({
              actorSub: principal.sub,
              actorRole: principal.role,
              purpose: principal.purpose,
              patientId: event.patientId,
              resourceType: event.resourceType,
              resourceIds: [...event.ids],
              fieldPaths: [...event.paths].sort(),
              breakGlassReason: principal.breakGlassReason ?? null,
              requestId,
              outcome: event.outcome,
            });
          }
        },
      };
    },
  };
}
