import { type ConstDirectiveNode, Kind } from 'graphql';
import type { Principal, Purpose, Role } from './principal.js';

/**
 * Scopes named in the SDL's @requiresScopes. Each guards one class of data, so that a field's rule
 * reads as what it discloses.
 */
export const SCOPES = [
  'patient:demographics', // name, birth date, sex, MRN, care team
  'patient:contact', // phone, e-mail, address
  'clinical:emergency', // allergies, medications, conditions, blood type
  'clinical:full', // vitals and clinical notes
  'appointments:read', // appointments and schedules
  'appointments:reason', // why the patient is coming: clinical in itself
  'appointments:write', // booking and cancelling
  'audit:read', // the whole audit trail
  'audit:self', // one's own accounting of disclosures
  'patient:contact:write', // changing phone, e-mail, address
  'consent:manage', // a patient granting and revoking consent to their labelled records (45 CFR 164.522, 42 CFR Part 2)
  'consent:read', // a clinician reading which labels a patient consented to share with them
  'clinical:write', // recording vital signs and allergies
] as const;
export type Scope = (typeof SCOPES)[number];

const ALL_APPOINTMENTS: Scope[] = ['appointments:read', 'appointments:reason', 'appointments:write'];
/** Reading a whole chart: who the patient is, how to reach them, every clinical record, their appointments. */
const WHOLE_CHART: Scope[] = ['patient:demographics', 'patient:contact', 'clinical:emergency', 'clinical:full', ...ALL_APPOINTMENTS];

/** What a role may ever hold. */
const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  PATIENT: [...WHOLE_CHART, 'audit:self', 'patient:contact:write', 'consent:manage'],
  CLINICIAN: [...WHOLE_CHART, 'consent:read', 'clinical:write'],
  SCHEDULER: ['patient:demographics', 'patient:contact', ...ALL_APPOINTMENTS, 'patient:contact:write'],
  BILLING: ['patient:demographics', 'patient:contact', 'appointments:read'],
  ADMIN: [],
  AUDITOR: ['audit:read'],
};

/** What a purpose of use needs (minimum necessary, 45 CFR 164.502(b)). */
const PURPOSE_SCOPES: Record<Purpose, readonly Scope[]> = {
  TREAT: [...WHOLE_CHART, 'audit:self', 'patient:contact:write', 'consent:manage', 'consent:read', 'clinical:write'],
  // Emergency treatment reads what it needs; clinical writes are recorded under TREAT.
  ETREAT: [...WHOLE_CHART, 'consent:read'],
  HPAYMT: ['patient:demographics', 'patient:contact', 'appointments:read'],
  HOPERAT: ['patient:demographics', 'patient:contact', ...ALL_APPOINTMENTS, 'audit:read', 'audit:self', 'patient:contact:write'],
  // Break-glass: who the patient is and what could harm them now; nothing else.
  BTG: ['patient:demographics', 'clinical:emergency'],
};

/** Each role and purpose pair's scopes, worked out once: the subgraphs' field rules ask for every field resolved. */
const HELD = new Map<string, ReadonlySet<Scope>>();

/** The one answer to "which scopes does this caller hold": its role's, narrowed by its purpose. */
export function scopesFor(principal: Pick<Principal, 'role' | 'purpose'>): ReadonlySet<Scope> {
  const key = `${principal.role}\u0000${principal.purpose}`;
  let held = HELD.get(key);
  if (!held) {
    const allowed = new Set(PURPOSE_SCOPES[principal.purpose]);
    held = new Set(ROLE_SCOPES[principal.role].filter((scope) => allowed.has(scope)));
    // Only the pairs the tables name are kept: the map cannot grow past 6 roles x 5 purposes.
    if (Object.hasOwn(ROLE_SCOPES, principal.role) && Object.hasOwn(PURPOSE_SCOPES, principal.purpose)) HELD.set(key, held);
  }
  return held;
}

/** @requiresScopes semantics: any one of the groups, with every scope of that group. */
export function satisfies(held: ReadonlySet<string>, groups: readonly (readonly string[])[]): boolean {
  return groups.some((group) => group.every((scope) => held.has(scope)));
}

/**
 * The scope groups a field's `@requiresScopes(scopes: [[...], ...])` asks for (any one group, all
 * scopes of it), or undefined when it has none: one reading of the directive for the gateway's
 * and the subgraphs' walls alike.
 */
export function requiredScopes(directives: readonly ConstDirectiveNode[] | undefined): string[][] | undefined {
  const value = directives?.find((d) => d.name.value === 'requiresScopes')?.arguments?.find((a) => a.name.value === 'scopes')?.value;
  if (!value) return undefined;
  if (value.kind !== Kind.LIST) return [];
  return value.values.map((group) =>
    group.kind === Kind.LIST ? group.values.flatMap((s) => (s.kind === Kind.STRING ? [s.value] : [])) : [],
  );
}
