import { type Prisma, type PrismaClient, Prisma as SqlTag } from '@healthgraph/db';
import type { Principal, Role } from '@healthgraph/platform';
import DataLoader from 'dataloader';
import { readThrough, type ScopedCache } from './cache.js';

/** How far a caller's reach extends over patients. */
export type Reach = 'self' | 'careTeam' | 'all' | 'none';
export type ClinicalKind = 'allergies' | 'medications' | 'conditions' | 'vitals' | 'notes';
export type Label = 'NONE' | 'ETH' | 'PSY' | 'HIV' | 'GDIS';

/** What one principal may reach: the single answer every subgraph's data layer consults. */
export interface Access {
  /** Which patients' demographics and appointments. */
  patients: Reach;
  /** Which kinds of clinical record, for the patients above. */
  clinical: ReadonlySet<ClinicalKind>;
  /** Which labelled rows: all, or only those the patient consented to share with this clinician. */
  labels: 'all' | 'consented';
}

const NO_CLINICAL = new Set<ClinicalKind>();
const ALL_CLINICAL = new Set<ClinicalKind>(['allergies', 'medications', 'conditions', 'vitals', 'notes']);
/** Emergency data reachable by break-glass: what a clinician needs to treat safely, never notes. */
const EMERGENCY = new Set<ClinicalKind>(['allergies', 'medications', 'conditions']);

/**
 * The row policy, declared once (minimum necessary, 45 CFR 164.502(b) and 164.514(d)).
 * SCHEDULER and BILLING see demographics and appointments only; ADMIN and AUDITOR no PHI.
 */
export const ROW_POLICY: Record<Role, Access> = {
  PATIENT: { patients: 'self', clinical: ALL_CLINICAL, labels: 'all' },
  CLINICIAN: { patients: 'careTeam', clinical: ALL_CLINICAL, labels: 'consented' },
  SCHEDULER: { patients: 'all', clinical: NO_CLINICAL, labels: 'consented' },
  BILLING: { patients: 'all', clinical: NO_CLINICAL, labels: 'consented' },
  ADMIN: { patients: 'none', clinical: NO_CLINICAL, labels: 'consented' },
  AUDITOR: { patients: 'none', clinical: NO_CLINICAL, labels: 'consented' },
};

/** Break-glass: any patient's emergency data, labelled rows included, always audited. */
export const BREAK_GLASS_POLICY: Access = { patients: 'all', clinical: EMERGENCY, labels: 'all' };

export function accessFor(principal: Principal): Access {
  return principal.purpose === 'BTG' && principal.breakGlassReason ? BREAK_GLASS_POLICY : ROW_POLICY[principal.role];
}

/** Prisma filter for the patients a principal may see, or null when it may see none. */
export function visiblePatientsWhere(principal: Principal, now = new Date()): Prisma.PatientWhereInput | null {
  switch (accessFor(principal).patients) {
    case 'all':
      return {};
    case 'self':
      return { id: principal.sub };
    case 'careTeam':
      return { careTeam: { some: activeCareTeamOf(principal.sub, now) } };
    case 'none':
      return null;
  }
}

function activeCareTeamOf(providerId: string, now: Date): Prisma.CareTeamMemberWhereInput {
  return { providerId, periodStart: { lte: now }, OR: [{ periodEnd: null }, { periodEnd: { gt: now } }] };
}

/**
 * Per-request answer to "may this caller see patient X?", batched: one statement per batch for a
 * clinician (care-team lookup), none for the other roles.
 */
export function createPatientAccessLoader(
  prisma: PrismaClient,
  principal: Principal,
  options: { batch: boolean; cache?: ScopedCache },
): DataLoader<string, boolean> {
  const reach = accessFor(principal).patients;
  return new DataLoader<string, boolean>(
    async (ids) => {
      if (reach === 'all') return ids.map(() => true);
      if (reach === 'none') return ids.map(() => false);
      if (reach === 'self') return ids.map((id) => id === principal.sub);
      // One clinician's relationship to one patient: cached per pair, never shared between clinicians.
      const answers = await readThrough<{ member: boolean }>(options.cache, 'relationship', ids, {
        key: (id) => `care-team:${principal.sub}:${id}`,
        tags: (id) => [`careteam:${id}`],
        shareable: () => principal.purpose !== 'BTG',
        load: async (missing) => {
          const rows = await prisma.careTeamMember.findMany({
            where: { ...activeCareTeamOf(principal.sub, new Date()), patientId: { in: missing } },
            select: { patientId: true },
          });
          const visible = new Set(rows.map((row) => row.patientId));
          return missing.map((id) => ({ member: visible.has(id) }));
        },
      });
      return answers.map((answer) => answer?.member === true);
    },
    { batch: options.batch, cache: options.batch },
  );
}

/**
 * Per-request consent labels the patient granted this clinician (45 CFR Part 2, state law for
 * HIV, PSY and genetic data): one statement per batch, only for callers limited to consented labels.
 */
export function createConsentLoader(
  prisma: PrismaClient,
  principal: Principal,
  options: { batch: boolean },
): DataLoader<string, ReadonlySet<Label>> {
  const needsConsent = accessFor(principal).labels === 'consented';
  return new DataLoader<string, ReadonlySet<Label>>(
    async (patientIds) => {
      if (!needsConsent || principal.role !== 'CLINICIAN') return patientIds.map(() => new Set<Label>());
      const rows = await prisma.consent.findMany({
        where: { providerId: principal.sub, patientId: { in: [...patientIds] }, revokedAt: null },
        select: { patientId: true, label: true },
      });
      const byPatient = new Map<string, Set<Label>>();
      for (const row of rows) {
        const labels = byPatient.get(row.patientId) ?? new Set<Label>();
        labels.add(row.label);
        byPatient.set(row.patientId, labels);
      }
      return patientIds.map((id) => byPatient.get(id) ?? new Set<Label>());
    },
    { batch: options.batch, cache: options.batch },
  );
}

/**
 * Whether one clinical row may be disclosed. Unlabelled rows of normal confidentiality are visible
 * to whoever may see the record. Labelled rows (ETH, PSY, HIV, GDIS), whatever their
 * confidentiality, need "all labels" (the patient themself, break-glass) or the patient's consent
 * for that label and clinician. Restricted (R/V) rows without a label cannot be consented to: only
 * the patient and break-glass see them.
 */
export function clinicalRowVisible(
  row: { sensitivity: Label; confidentiality: 'N' | 'R' | 'V' },
  access: Access,
  consented: ReadonlySet<Label>,
): boolean {
  if (access.labels === 'all') return true;
  if (row.sensitivity === 'NONE') return row.confidentiality === 'N';
  return consented.has(row.sensitivity);
}

/**
 * The same patient scope as visiblePatientsWhere, as a SQL condition on a patient-id column, for
 * statements Prisma's query builder cannot express (per-parent windows). Folding the scope into
 * the statement keeps it at one statement per batch.
 */
export function patientScopeSql(principal: Principal, patientIdColumn: Prisma.Sql): Prisma.Sql {
  switch (accessFor(principal).patients) {
    case 'all':
      return SqlTag.sql`TRUE`;
    case 'self':
      return SqlTag.sql`${patientIdColumn} = ${principal.sub}`;
    case 'careTeam':
      return SqlTag.sql`EXISTS (SELECT 1 FROM "CareTeamMember" c WHERE c."patientId" = ${patientIdColumn} AND c."providerId" = ${principal.sub}
        AND c."periodStart" <= now() AND (c."periodEnd" IS NULL OR c."periodEnd" > now()))`;
    case 'none':
      return SqlTag.sql`FALSE`;
  }
}
