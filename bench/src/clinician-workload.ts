/**
 * The clinician-heavy workload: a clinic's working hours as the graph sees them. Care-team panels
 * (each patient with allergies, the latest vitals and the next visit), charts, front-desk searches
 * and banners, the patient portal (own record, who looked at it), slot searches and break-glass
 * reads. Shared by the scenario (clinician.ts, which writes a ClinicianSpec) and its load process
 * (clinician-load.ts, which turns it into requests).
 */
import { type Caller, operationBody, pick, type WorkloadSpec } from './workload.js';

export const CLINICIAN_KINDS = [
  'care-team panel',
  'chart',
  'patient lookup',
  'patient search',
  'portal record',
  'access log',
  'available slots',
  'break-glass',
] as const;
export type ClinicianKind = (typeof CLINICIAN_KINDS)[number];

/**
 * One cycle, twelve requests: half of them a clinician's (three panels, three charts), then the
 * front desk (a banner, a name search), the patient portal (own record, access log), a slot
 * search and one break-glass chart read of any patient. Each autocannon connection walks the cycle.
 */
export const CLINICIAN_CYCLE: readonly ClinicianKind[] = [
  'care-team panel',
  'chart',
  'patient lookup',
  'care-team panel',
  'patient search',
  'chart',
  'portal record',
  'care-team panel',
  'available slots',
  'chart',
  'access log',
  'break-glass',
];

export interface ClinicianSpec
  extends Pick<WorkloadSpec, 'target' | 'url' | 'connections' | 'durationSeconds' | 'operations' | 'subgraphTokenSecret'> {
  /** Clinicians (with their care teams), front-desk staff, patients. */
  callers: Caller[];
  /** Clinicians with a break-glass token (purpose BTG and a reason), reaching any patient. */
  breakGlass: Caller[];
  /** Every seeded patient, for break-glass reads. */
  patients: string[];
  providers: string[];
  /** Surname beginnings the front desk searches for. */
  names: string[];
  /** Patients per panel page. */
  panelSize: number;
  /** Start of today (UTC, ISO): the panel's "next visit" is the first one from then on, as a workstation asks. */
  today: string;
  /** First day (YYYY-MM-DD) of the slot-search window. */
  slotsFrom: string;
  slotsDays: number;
  /** Requests per second over all connections (the soak); unlimited when absent. */
  overallRate?: number;
}

export interface ClinicianPlanned {
  kind: ClinicianKind;
  caller: Caller;
  body: string;
}

export class ClinicianPlanner {
  private readonly byRole = new Map<string, Caller[]>();

  constructor(private readonly spec: ClinicianSpec) {
    for (const caller of spec.callers) {
      if (!this.byRole.has(caller.role)) this.byRole.set(caller.role, []);
      this.byRole.get(caller.role)!.push(caller);
    }
  }

  private of(role: string): Caller {
    return pick(this.byRole.get(role)!);
  }

  plan(kind: ClinicianKind): ClinicianPlanned {
    const spec = this.spec;
    switch (kind) {
      case 'care-team panel': {
        const caller = this.of('CLINICIAN');
        return {
          kind,
          caller,
          body: operationBody(spec, 'CareTeamPanel', { first: spec.panelSize, from: spec.today }),
        };
      }
      case 'chart': {
        const caller = this.of('CLINICIAN');
        return { kind, caller, body: operationBody(spec, 'PatientChart', { id: pick(caller.patients) }) };
      }
      case 'patient lookup': {
        const caller = this.of('SCHEDULER');
        return { kind, caller, body: operationBody(spec, 'PatientSummary', { id: pick(caller.patients) }) };
      }
      case 'patient search': {
        const caller = this.of('SCHEDULER');
        return { kind, caller, body: operationBody(spec, 'SearchPatients', { name: pick(spec.names), first: 20 }) };
      }
      case 'portal record': {
        const caller = this.of('PATIENT');
        return { kind, caller, body: operationBody(spec, 'MyRecord', {}) };
      }
      case 'access log': {
        const caller = this.of('PATIENT');
        return { kind, caller, body: operationBody(spec, 'MyAccessLog', { first: 20 }) };
      }
      case 'available slots': {
        const caller = Math.random() < 0.5 ? this.of('SCHEDULER') : this.of('PATIENT');
        const from = new Date(Date.parse(`${spec.slotsFrom}T00:00:00Z`) + Math.floor(Math.random() * spec.slotsDays) * 86_400_000);
        return {
          kind,
          caller,
          body: operationBody(spec, 'AvailableSlots', {
            provider: pick(spec.providers),
            from: from.toISOString(),
            to: new Date(from.getTime() + 86_400_000).toISOString(),
          }),
        };
      }
      case 'break-glass': {
        const caller = pick(spec.breakGlass);
        return { kind, caller, body: operationBody(spec, 'EmergencyChart', { id: pick(spec.patients) }) };
      }
    }
  }
}

/** Whether a 200 answer carries what the kind asked for. */
export function clinicianAnswered(kind: ClinicianKind, data: Record<string, unknown> | null | undefined): boolean {
  if (!data) return false;
  switch (kind) {
    case 'care-team panel':
      return data.myPatients != null;
    case 'chart':
    case 'patient lookup':
    case 'break-glass':
      return data.patient != null;
    case 'patient search':
      return data.searchPatients != null;
    case 'portal record':
      return data.me != null;
    case 'access log':
      return data.myAccessLog != null;
    case 'available slots':
      return data.provider != null;
  }
}
