import { type Prisma, Prisma as Sql } from '@healthgraph/db';
import { type Principal, type Role, type Scope, scopesFor } from '@healthgraph/platform';

/**
 * The access policy (minimum necessary, 45 CFR 164.502(b) and 164.514(d)), declared once here and
 * asked by every data layer: which patients a caller reaches and through which relationship,
 * which kinds of clinical record, which labelled rows, which columns a view holds, what may be
 * cached where, what an action may do. It is built once per request from the verified principal,
 * in named stages. Nothing outside this file compares a role or a purpose.
 */

/** How far a caller's reach extends over patients. */
export type Reach = 'self' | 'careTeam' | 'all' | 'none';
export type ClinicalKind = 'allergies' | 'medications' | 'conditions' | 'vitals' | 'notes';
export const CLINICAL_KINDS: readonly ClinicalKind[] = ['allergies', 'medications', 'conditions', 'vitals', 'notes'];
export type Label = 'NONE' | 'ETH' | 'PSY' | 'HIV' | 'GDIS';
export const LABELS: readonly Exclude<Label, 'NONE'>[] = ['ETH', 'PSY', 'HIV', 'GDIS'];
type Labelled = { sensitivity: Label; confidentiality: 'N' | 'R' | 'V' };

/** Stage 1, reach: which patients each role may see (before the purpose narrows what it reads of them). */
const REACH: Record<Role, Reach> = {
  PATIENT: 'self',
  CLINICIAN: 'careTeam',
  SCHEDULER: 'all',
  BILLING: 'all',
  ADMIN: 'none',
  AUDITOR: 'none',
};

/** Stage 3, records: the scope each kind of clinical record needs (the same scopes as the SDL's field rules). */
const CLINICAL_SCOPE: Record<ClinicalKind, Scope> = {
  allergies: 'clinical:emergency',
  medications: 'clinical:emergency',
  conditions: 'clinical:emergency',
  vitals: 'clinical:full',
  notes: 'clinical:full',
};

/** Stage 5, views: which patient columns each scope discloses; a view holds only its scopes' columns. */
export const PATIENT_COLUMNS = {
  'patient:demographics': ['mrn', 'givenName', 'familyName', 'birthDate', 'sex'],
  'patient:contact': ['phone', 'email', 'addressLine', 'city', 'state', 'postalCode'],
  'clinical:emergency': ['bloodType'],
} as const satisfies Partial<Record<Scope, readonly string[]>>;
export type PatientColumn = (typeof PATIENT_COLUMNS)[keyof typeof PATIENT_COLUMNS][number];

/** Break-glass (emergency access, purpose BTG with a reason): time-boxed by its token, always audited. */
const BREAK_GLASS = {
  /** Any patient: the one in front of the clinician may be on nobody's care team. */
  reach: 'all' as Reach,
  /** A search names the patient (an MRN, or a name with a birth date) and lists a handful, never a census. */
  search: { maxResults: 5, paging: false, criteria: 'identifying' as const },
};

/** What booking may grant: the booked provider joins the care team for the visit, its preparation and its follow-up, and no longer. */
export const BOOKING = {
  /** Latest start a booking may have, from now. */
  horizonDays: 365,
  /** Access before the visit, to prepare. */
  prepareDays: 7,
  /** Access after the visit, to follow up. */
  followUpDays: 30,
} as const;

const DAY = 86_400_000;

/** Whether a provider's care-team membership is active at `now`: one definition, as a Prisma filter and as SQL. */
export function activeMembership(now: Date): Prisma.CareTeamMemberWhereInput {
  return { periodStart: { lte: now }, OR: [{ periodEnd: null }, { periodEnd: { gt: now } }] };
}
/** The same rule as SQL over a membership's alias, at the application's `now` (as the Prisma filter), for loaders that skip the query builder. */
export const activeMembershipAt = (alias: string, now: Date): Prisma.Sql =>
  Sql.sql`${Sql.raw(`${alias}."periodStart"`)} <= ${now} AND (${Sql.raw(`${alias}."periodEnd"`)} IS NULL OR ${Sql.raw(`${alias}."periodEnd"`)} > ${now})`;
// The statements' own SQL uses the application's clock too, never the database's now(): the columns
// are UTC timestamps without a zone, and now() compared with them shifts by the session's time zone
// (an ended membership stayed in reach for hours west of UTC).
const activeMembershipSql = (alias: string) => activeMembershipAt(alias, new Date());

/** Whether a consent is in force at `now`: granted, not revoked, not lapsed. One definition, as a Prisma filter and as SQL. */
export function activeConsent(now: Date): Prisma.ConsentWhereInput {
  return { revokedAt: null, OR: [{ validUntil: null }, { validUntil: { gt: now } }] };
}
/** The same rule for one consent row already read. */
export const consentInForce = (consent: { revokedAt: Date | null; validUntil: Date | null }, now = new Date()): boolean =>
  consent.revokedAt === null && (consent.validUntil === null || consent.validUntil.getTime() > now.getTime());
/** The same rule as SQL over a consent's alias, at the application's `now` (as the Prisma filter). */
export const activeConsentAt = (alias: string, now: Date): Prisma.Sql =>
  Sql.sql`${Sql.raw(`${alias}."revokedAt"`)} IS NULL AND (${Sql.raw(`${alias}."validUntil"`)} IS NULL OR ${Sql.raw(`${alias}."validUntil"`)} > ${now})`;
const activeConsentSql = (alias: string) => activeConsentAt(alias, new Date());

export interface SearchRule {
  allowed: boolean;
  /** Most results one search returns. */
  maxResults: number;
  /** Whether `after` may page further. */
  paging: boolean;
  /** `any`: at least one criterion; `identifying`: an MRN, or a name together with a birth date. */
  criteria: 'any' | 'identifying';
}

/** The policy for one request. */
export interface Policy {
  readonly principal: Principal;
  readonly scopes: ReadonlySet<Scope>;
  readonly breakGlass: boolean;
  /** Stage 1: which patients. */
  readonly reach: Reach;
  /** The caller's own patient id, when it is a patient. */
  readonly self: string | null;
  /** Stage 2, relationship: the patients this caller reaches, as a Prisma filter (null: none). */
  patientsWhere(now?: Date): Prisma.PatientWhereInput | null;
  /** The same, as a SQL condition on a patient-id column, for statements Prisma cannot build (per-parent windows). */
  patientScopeSql(patientIdColumn: Prisma.Sql): Prisma.Sql;
  /** Whether the caller's reach is settled per patient by a relationship the database must confirm. */
  readonly relationshipBound: boolean;
  /** Stage 3: which kinds of clinical record. */
  mayRead(kind: ClinicalKind): boolean;
  /** Stage 4, labels and consent: `all` (the patient, break-glass) or only what the patient consented to share with this caller. */
  readonly labels: 'all' | 'consented';
  /** Whether one clinical row may be disclosed, given the labels the patient consented to share with this caller. */
  rowVisible(row: Labelled, consented: ReadonlySet<Label>): boolean;
  /** The same rule as SQL over a clinical row's alias (consents looked up in the statement), to filter inside a window. */
  rowVisibleSql(alias: string): Prisma.Sql;
  /** Stage 5: the patient columns a view for this caller holds, and whether appointment views hold the reason. */
  readonly patientColumns: readonly PatientColumn[];
  /** A name for the view (which scopes shaped it), part of every cache key of it. */
  readonly viewName: string;
  readonly appointmentReason: boolean;
  /** Stage 6: whether views may go to the shared cache (never break-glass views; labelled rows are decided per row). */
  readonly shareable: boolean;
  /** Stage 7, actions. */
  readonly mayWriteAppointments: boolean;
  /** Whether the caller may change this patient's phone, e-mail and address (the patient themself, the front desk). */
  mayUpdateContact(patientId: string): boolean;
  /** Whether the caller may grant and revoke consents to their own labelled records (the patient themself). */
  readonly mayManageConsent: boolean;
  /** Whether the caller may read which labels a patient consented to share with them (a clinician, about themself only). */
  readonly mayReadConsentsToSelf: boolean;
  /** Whether the caller may record clinical rows (vitals, allergies) for the patients it reaches through a care relationship. */
  readonly mayWriteClinical: boolean;
  readonly mayListCareTeam: boolean;
  readonly mayReadOwnAccessLog: boolean;
  readonly search: SearchRule;
  /** The care-team membership a booking of this visit grants the booked provider. */
  bookingGrant(visit: { start: Date; end: Date }, now?: Date): { periodStart: Date; periodEnd: Date };
  /** Whether a visit starting then may be booked by anyone. */
  bookable(start: Date, now?: Date): boolean;
}

/** Builds the policy of one request from its verified principal. */
export function policyFor(principal: Principal): Policy {
  // Break-glass needs its reason; a BTG purpose without one (refused at the gateway anyway) is an ordinary clinician.
  const breakGlass = principal.purpose === 'BTG' && Boolean(principal.breakGlassReason);
  const scopes = scopesFor(principal);
  const reach: Reach = breakGlass ? BREAK_GLASS.reach : REACH[principal.role];
  const self = reach === 'self' ? principal.sub : null;
  // The patient always sees their own labelled rows; break-glass sees them for emergency data.
  const labels = reach === 'self' || breakGlass ? 'all' : 'consented';
  const patientColumns = (Object.keys(PATIENT_COLUMNS) as (keyof typeof PATIENT_COLUMNS)[])
    .filter((scope) => scopes.has(scope))
    .flatMap((scope) => PATIENT_COLUMNS[scope]);

  const patientsWhere = (now = new Date()): Prisma.PatientWhereInput | null => {
    switch (reach) {
      case 'all':
        return {};
      case 'self':
        return { id: principal.sub };
      case 'careTeam':
        return { careTeam: { some: { providerId: principal.sub, ...activeMembership(now) } } };
      case 'none':
        return null;
    }
  };
  const patientScopeSql = (column: Prisma.Sql): Prisma.Sql => {
    switch (reach) {
      case 'all':
        return Sql.sql`TRUE`;
      case 'self':
        return Sql.sql`${column} = ${principal.sub}`;
      case 'careTeam':
        return Sql.sql`EXISTS (SELECT 1 FROM "CareTeamMember" c WHERE c."patientId" = ${column} AND c."providerId" = ${principal.sub} AND ${activeMembershipSql('c')})`;
      case 'none':
        return Sql.sql`FALSE`;
    }
  };
  const rowVisible = (row: Labelled, consented: ReadonlySet<Label>) => {
    if (labels === 'all') return true;
    // Restricted rows without a label have nothing to consent to: only the patient and break-glass see them.
    if (row.sensitivity === 'NONE') return row.confidentiality === 'N';
    // 42 CFR Part 2 (ETH) and state law (HIV, PSY, GDIS): labelled rows need the patient's consent for this label and caller.
    return consented.has(row.sensitivity);
  };
  const rowVisibleSql = (alias: string) => {
    if (labels === 'all') return Sql.sql`TRUE`;
    const row = (column: string) => Sql.raw(`${alias}."${column}"`);
    return Sql.sql`((${row('sensitivity')} = 'NONE' AND ${row('confidentiality')} = 'N') OR (${row('sensitivity')} <> 'NONE' AND EXISTS (
      SELECT 1 FROM "Consent" k WHERE k."patientId" = ${row('patientId')} AND k."providerId" = ${principal.sub} AND k."label" = ${row('sensitivity')} AND ${activeConsentSql('k')})))`;
  };
  const search: SearchRule =
    reach === 'none' || !scopes.has('patient:demographics')
      ? { allowed: false, maxResults: 0, paging: false, criteria: 'any' }
      : breakGlass
        ? { allowed: true, ...BREAK_GLASS.search }
        : { allowed: true, maxResults: 100, paging: true, criteria: 'any' };

  return {
    principal,
    scopes,
    breakGlass,
    reach,
    self,
    patientsWhere,
    patientScopeSql,
    relationshipBound: reach === 'careTeam',
    mayRead: (kind) => reach !== 'none' && scopes.has(CLINICAL_SCOPE[kind]),
    labels,
    rowVisible,
    rowVisibleSql,
    patientColumns,
    viewName: (Object.keys(PATIENT_COLUMNS) as Scope[]).filter((scope) => scopes.has(scope)).join('+'),
    appointmentReason: scopes.has('appointments:reason'),
    // Break-glass views stay in this process: never written to the shared cache.
    shareable: !breakGlass,
    // Break-glass reaches emergency data, not the scheduling desk: it holds no appointments:write scope.
    mayWriteAppointments: scopes.has('appointments:write') && reach !== 'none',
    mayUpdateContact: (patientId) =>
      scopes.has('patient:contact:write') && (reach === 'all' || (reach === 'self' && patientId === principal.sub)),
    mayManageConsent: reach === 'self' && scopes.has('consent:manage'),
    mayReadConsentsToSelf: reach === 'careTeam' && scopes.has('consent:read'),
    // Clinical rows are written by the patient's own care team, treating them (break-glass reads, never writes).
    mayWriteClinical: reach === 'careTeam' && scopes.has('clinical:write'),
    mayListCareTeam: reach === 'careTeam',
    mayReadOwnAccessLog: reach === 'self' && scopes.has('audit:self'),
    search,
    bookingGrant: ({ start, end }, now = new Date()) => ({
      periodStart: new Date(Math.max(now.getTime(), start.getTime() - BOOKING.prepareDays * DAY)),
      periodEnd: new Date(end.getTime() + BOOKING.followUpDays * DAY),
    }),
    bookable: (start, now = new Date()) => start.getTime() > now.getTime() && start.getTime() <= now.getTime() + BOOKING.horizonDays * DAY,
  };
}
