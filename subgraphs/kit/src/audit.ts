import type { ApolloServerPlugin } from '@apollo/server';
import { type AuditInput, type AuditLog, type AuditOutcome, logger, type Principal, REFUSALS_HEADER } from '@healthgraph/platform';

/**
 * What one request refused (and, for writes, wrote), recorded beside the decision in the data
 * layer and made durable before the subgraph answers. Disclosures are recorded by the gateway from
 * the final answer, the one place that knows what the caller received.
 */
export class RequestAudit {
  private readonly entries = new Map<
    string,
    { patientId: string | null; resourceType: string; outcome: AuditOutcome; ids: Set<string>; paths: Set<string> }
  >();

  constructor(
    private readonly principal: Principal,
    private readonly requestId: string,
    private readonly correlationId: string | null,
  ) {}

  private add(outcome: AuditOutcome, patientId: string | null, resourceType: string, coordinate: string, id?: string): void {
    const key = `${outcome}\u0000${patientId}\u0000${resourceType}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { patientId, resourceType, outcome, ids: new Set(), paths: new Set() };
      this.entries.set(key, entry);
    }
    if (id !== undefined) entry.ids.add(id);
    entry.paths.add(coordinate);
  }

  /** Access refused: a patient out of reach, a kind of record or an action this caller may not have. */
  denied(patientId: string | null, resourceType: string, coordinate: string, id?: string): void {
    this.add('DENIED', patientId, resourceType, coordinate, id);
  }

  /**
   * The event of a write, to be stored in the write's own transaction (auditInTransaction), so a
   * write and its record commit together: `coordinate` names the mutation, `fields` what it set.
   */
  written(
    patientId: string,
    resourceType: string,
    coordinate: string,
    id: string | readonly string[],
    fields: readonly string[] = [],
  ): AuditInput {
    return {
      ...this.actor(),
      patientId,
      resourceType,
      resourceIds: typeof id === 'string' ? [id] : [...id].sort(),
      fieldPaths: [coordinate, ...fields.map((field) => `${resourceType}.${field}`)].sort(),
      outcome: 'WRITTEN',
    };
  }

  private actor() {
    return {
      actorSub: this.principal.sub,
      actorRole: this.principal.role,
      purpose: this.principal.purpose,
      breakGlassReason: this.principal.breakGlassReason ?? null,
      requestId: this.requestId,
      correlationId: this.correlationId,
    };
  }

  /** The events gathered so far, as the audit writer takes them; gathering starts again. */
  take(): AuditInput[] {
    const events = [...this.entries.values()].map((entry) => ({
      ...this.actor(),
      patientId: entry.patientId,
      resourceType: entry.resourceType,
      resourceIds: [...entry.ids].sort(),
      fieldPaths: [...entry.paths].sort(),
      outcome: entry.outcome,
    }));
    this.entries.clear();
    return events;
  }
}

/**
 * Writes each request's refusals before the subgraph answers. A refusal discloses nothing, so a
 * failure to record one is logged and counted (see AuditLog), and the refusal still goes out.
 */
export function auditPlugin(log: AuditLog): ApolloServerPlugin<{ data?: { audit: RequestAudit } }> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const events = contextValue?.data?.audit.take() ?? [];
          // Whether this answer may also serve the same caller's identical read (the gateway's shared reads).
          response.http.headers.set(REFUSALS_HEADER, String(events.filter((event) => event.outcome === 'DENIED').length));
          if (events.length === 0) return;
          await log
            .write(events)
            .catch((error: unknown) => logger.error({ reason: (error as Error).message, events: events.length }, 'refusals not recorded'));
        },
      };
    },
  };
}
