/**
 * The benchmark's workload: what a day of portal traffic asks of the graph, as autocannon
 * requests. Shared by the orchestrator (which writes a WorkloadSpec) and the load process (which
 * turns it into requests), so both agree on operations, callers and the mix.
 */
import { randomUUID } from 'node:crypto';
import type { Purpose, Role } from '@healthgraph/platform';

export const KINDS = ['patient lookup', 'clinical record', 'available slots', 'booking', 'provider search'] as const;
export type Kind = (typeof KINDS)[number];

/**
 * One cycle of the portal mix, ten requests: 40% patient lookup, 30% clinical record, 20%
 * scheduling (available slots, then a booking of one of them), 10% provider search. Each
 * autocannon connection walks the cycle, so a booking always follows its slot query on the
 * same connection; callers, patients and providers are drawn at random on every request.
 */
export const PORTAL_CYCLE: readonly Kind[] = [
  'patient lookup',
  'clinical record',
  'patient lookup',
  'available slots',
  'booking',
  'clinical record',
  'patient lookup',
  'provider search',
  'patient lookup',
  'clinical record',
];

/**
 * The subgraph-down mix: what must go on as before while the records subgraph is down (patient
 * lookups, slot searches), and a chart read now and then, whose records part is missing.
 */
export const DEGRADED_CYCLE: readonly Kind[] = [
  'patient lookup',
  'available slots',
  'patient lookup',
  'available slots',
  'clinical record',
];

export type Target = 'gateway' | 'hive' | 'subgraph';

export interface Caller {
  role: Role;
  sub: string;
  purpose: Purpose;
  /** The client token the identity provider issued (what a portal sends to this gateway). */
  token: string;
  /** Patients this caller has reason to look up: the care team, the caller itself, or anyone. */
  patients: string[];
  /** Why the glass was broken (break-glass callers only). */
  reason?: string;
}

export interface WorkloadSpec {
  target: Target;
  url: string;
  mix: 'portal' | 'lookup' | 'degraded';
  connections: number;
  durationSeconds: number;
  callers: Caller[];
  providers: string[];
  specialties: string[];
  /** Trusted operations by name: id (sha256 of the body) and body, from the manifest. */
  operations: Record<string, { id: string; body: string }>;
  /** First day (YYYY-MM-DD) of the window bookings are made in. */
  bookingFrom: string;
  bookingDays: number;
  /**
   * For targets that do not authenticate callers themselves (Hive Gateway as configured here,
   * a subgraph called directly): the secret the load process signs each caller's subgraph token
   * with, as this gateway would.
   */
  subgraphTokenSecret?: string;
}

export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/**
 * The GraphQL request for one trusted operation: by id to a gateway, as its text to a subgraph
 * called directly (which knows no manifest; only PatientSummary goes there, all of it served by the
 * patients subgraph).
 */
export function operationBody(spec: Pick<WorkloadSpec, 'operations' | 'target'>, name: string, variables: Record<string, unknown>): string {
  const operation = spec.operations[name];
  if (!operation) throw new Error(`operation ${name} is not in the manifest`);
  if (spec.target === 'subgraph') return JSON.stringify({ operationName: name, query: operation.body, variables });
  return JSON.stringify({ operationName: name, variables, extensions: { persistedQuery: { version: 1, sha256Hash: operation.id } } });
}

export interface Planned {
  kind: Kind;
  caller: Caller;
  body: string;
}

/** Context an autocannon connection carries from one request of its cycle to the next. */
export interface FlowContext {
  sentAt?: number;
  kind?: Kind;
  /** Set by a slot query for the booking that follows it. */
  slots?: { start: string }[];
  booking?: { caller: Caller; patientId: string; providerId: string };
}

export class Planner {
  private readonly byRole: Partial<Record<Role, Caller[]>> = {};

  constructor(private readonly spec: WorkloadSpec) {
    for (const caller of spec.callers) {
      this.byRole[caller.role] ??= [];
      this.byRole[caller.role]!.push(caller);
    }
  }

  private caller(weights: Partial<Record<Role, number>>): Caller {
    const roles = (Object.keys(weights) as Role[]).filter((role) => this.byRole[role]?.length);
    const total = roles.reduce((sum, role) => sum + weights[role]!, 0);
    let draw = Math.random() * total;
    for (const role of roles) {
      draw -= weights[role]!;
      if (draw <= 0) return pick(this.byRole[role]!);
    }
    return pick(this.byRole[roles[0]!]!);
  }

  plan(kind: Kind, context: FlowContext): Planned {
    const spec = this.spec;
    switch (kind) {
      case 'patient lookup': {
        const caller = this.caller({ CLINICIAN: 2, SCHEDULER: 2, PATIENT: 1 });
        return { kind, caller, body: operationBody(spec, 'PatientSummary', { id: pick(caller.patients) }) };
      }
      case 'clinical record': {
        const caller = this.caller({ CLINICIAN: 2, PATIENT: 1 });
        if (caller.role === 'PATIENT') return { kind, caller, body: operationBody(spec, 'MyRecord', {}) };
        return { kind, caller, body: operationBody(spec, 'PatientChart', { id: pick(caller.patients) }) };
      }
      case 'available slots': {
        const caller = this.caller({ SCHEDULER: 1, PATIENT: 1 });
        const providerId = pick(spec.providers);
        const from = new Date(Date.parse(`${spec.bookingFrom}T00:00:00Z`) + Math.floor(Math.random() * spec.bookingDays) * 86_400_000);
        context.booking = { caller, patientId: pick(caller.patients), providerId };
        return {
          kind,
          caller,
          body: operationBody(spec, 'AvailableSlots', {
            provider: providerId,
            from: from.toISOString(),
            to: new Date(from.getTime() + 86_400_000).toISOString(),
          }),
        };
      }
      case 'booking': {
        const { booking, slots } = context;
        // No free slot that day (or the slot query failed): the portal would show "none free"; look someone up instead.
        if (!booking || !slots?.length) return this.plan('patient lookup', context);
        const input = {
          patientId: booking.patientId,
          providerId: booking.providerId,
          start: pick(slots).start,
          reason: 'Follow-up visit',
          idempotencyKey: randomUUID(),
        };
        return { kind, caller: booking.caller, body: operationBody(spec, 'BookAppointment', { input }) };
      }
      case 'provider search': {
        const caller = this.caller({ CLINICIAN: 1, SCHEDULER: 1, PATIENT: 1 });
        return { kind, caller, body: operationBody(spec, 'SearchProviders', { specialty: pick(spec.specialties), first: 10 }) };
      }
    }
  }
}

/** Errors that are the business working as designed, not failures: two callers racing for one slot. */
export const EXPECTED_CODES: Partial<Record<Kind, string[]>> = { booking: ['SLOT_UNAVAILABLE'] };

/** Whether a 200 answer actually carries what the kind asked for (a gateway may answer `null` without an error). */
export function answered(kind: Kind, data: Record<string, unknown> | null | undefined): boolean {
  if (!data) return false;
  switch (kind) {
    case 'patient lookup':
      return data.patient != null;
    case 'clinical record':
      return data.patient != null || data.me != null;
    case 'available slots':
      return data.provider != null;
    case 'booking':
      return data.bookAppointment != null;
    case 'provider search':
      return data.searchProviders != null;
  }
}

/** The classes of the overload scenario and what each asks for. */
export const OVERLOAD_CLASSES = ['back office', 'portal', 'break-glass'] as const;
export type OverloadClass = (typeof OVERLOAD_CLASSES)[number];

/** What the overload generator (overload.ts) is told to send. */
export interface OverloadSpec extends Pick<WorkloadSpec, 'target' | 'url' | 'operations' | 'subgraphTokenSecret'> {
  mode: 'open' | 'closed';
  seconds: number;
  /** Closed loop: callers at once (spread over the classes with a rate). */
  connections: number;
  /** Requests per second per class (open loop); in closed loop, classes with a rate > 0 take part. */
  rates: Record<OverloadClass, number>;
  callers: Record<OverloadClass, Caller[]>;
  /** Every patient id, for break-glass reads of anyone and billing lookups. */
  patients: string[];
  /** Name prefixes to search for (back office). */
  names: string[];
}

export interface ClassResult {
  offered: number;
  served: number;
  /** Refused by the target for load or rate (503 OVERLOADED, 429 RATE_LIMITED). */
  shed: number;
  /** Anything else: other codes, HTTP statuses, timeouts (10 s), data missing. */
  errors: Record<string, number>;
  /** Milliseconds, from due time to the answer. */
  servedLatencies: number[];
  shedLatencies: number[];
}

export interface OverloadResult {
  seconds: number;
  byClass: Record<OverloadClass, ClassResult>;
}

/** A GraphQL answer as the load generators read it. */
export type Answer = { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] } | undefined;

/**
 * Reads one answer: its parsed body, and the error code it counts under (`HTTP_<status>`, the
 * first error's `extensions.code`, or `NO_DATA` when `answered` finds no data), undefined for a
 * full answer.
 */
export function classifyAnswer(status: number, body: string, answered: (data: Record<string, unknown> | null | undefined) => boolean) {
  let parsed: Answer;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const code =
    status !== 200
      ? `HTTP_${status}`
      : parsed?.errors?.length
        ? (parsed.errors[0]!.extensions?.code ?? 'UNCODED')
        : !answered(parsed?.data)
          ? 'NO_DATA'
          : undefined;
  return { parsed, code };
}
