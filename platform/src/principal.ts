/** Roles of the access model (see README, "Access model"). */
export const ROLES = ['PATIENT', 'CLINICIAN', 'SCHEDULER', 'BILLING', 'ADMIN', 'AUDITOR'] as const;
export type Role = (typeof ROLES)[number];

/** HL7 v3 PurposeOfUse codes accepted in tokens. BTG is break-the-glass emergency access. */
export const PURPOSES = ['TREAT', 'HPAYMT', 'HOPERAT', 'ETREAT', 'BTG'] as const;
export type Purpose = (typeof PURPOSES)[number];

/** The purpose each role gets when its token names none. */
export const DEFAULT_PURPOSE: Record<Role, Purpose> = {
  PATIENT: 'TREAT',
  CLINICIAN: 'TREAT',
  SCHEDULER: 'HOPERAT',
  BILLING: 'HPAYMT',
  ADMIN: 'HOPERAT',
  AUDITOR: 'HOPERAT',
};

/** Who is calling, as established by the gateway from a verified token. */
export interface Principal {
  /** Subject: a patient id for PATIENT, a provider id for CLINICIAN, a staff id otherwise. */
  sub: string;
  role: Role;
  purpose: Purpose;
  /** Present only for break-glass access (purpose BTG); always audited. */
  breakGlassReason?: string;
}

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);
export const isPurpose = (value: unknown): value is Purpose => typeof value === 'string' && (PURPOSES as readonly string[]).includes(value);

/**
 * Turns verified token claims into a principal, or explains why they do not make one.
 * Break-glass is only for clinicians, and only with a stated reason (45 CFR 164.312(a)(2)(ii)).
 */
export function principalFromClaims(claims: Record<string, unknown>): Principal | string {
  const { sub, role, purpose = isRole(role) ? DEFAULT_PURPOSE[role] : undefined, reason } = claims;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 128) return 'the token has no valid subject';
  if (!isRole(role)) return 'the token has no valid role';
  if (!isPurpose(purpose)) return 'the token has no valid purpose of use';
  if (purpose === 'BTG') {
    if (role !== 'CLINICIAN') return 'only clinicians may break the glass';
    if (typeof reason !== 'string' || reason.trim().length < 4 || reason.length > 500) return 'break-glass access needs a reason';
    return { sub, role, purpose, breakGlassReason: reason.trim() };
  }
  return { sub, role, purpose };
}
