import { randomBytes } from 'node:crypto';
import { activeConsent, activeMembership, createScopedData, type Label, policyFor, ScopedCache } from '@healthgraph/kit';
import { createLoaders as patientLoaders } from '@healthgraph/patients/loaders';
import { DEFAULT_PURPOSE, type Principal } from '@healthgraph/platform';
import { createLoaders as recordLoaders } from '@healthgraph/records/loaders';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers/database.js';

/*
 * The hottest loaders read through raw SQL (`= ANY($1)`) instead of Prisma's query builder. These
 * tests hold them to the rows the Prisma queries they replaced return, for every patient, those
 * the caller may not see and an id that does not exist included.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let ids: string[];
let clinician: Principal;
let consentingClinician: Principal;
let patient: Principal;
let labelledPatient = '';
const consent0PatientId = () => labelledPatient;

beforeAll(async () => {
  db = await createTestDatabase({ patients: 40 });
  ids = [...(await db.prisma.patient.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map((p) => p.id), 'pat-does-not-exist'];
  const [team] = await db.prisma.careTeamMember.groupBy({
    by: ['providerId'],
    where: { periodEnd: null },
    _count: { patientId: true },
    orderBy: { _count: { patientId: 'desc' } },
    take: 1,
  });
  clinician = { role: 'CLINICIAN', sub: team!.providerId, purpose: DEFAULT_PURPOSE.CLINICIAN };
  const consent = await db.prisma.consent.findFirst({ where: activeConsent(new Date()) });
  consentingClinician = { role: 'CLINICIAN', sub: consent!.providerId, purpose: DEFAULT_PURPOSE.CLINICIAN };
  // The consenting clinician treats the patient, whose newest vitals are labelled (one consented label, one not),
  // restricted, or recorded at the same instant: the windows must be cut after hidden rows are left out, ties in order.
  const { patientId, label } = consent!;
  labelledPatient = patientId;
  const other = (['ETH', 'PSY', 'HIV', 'GDIS'] as const).find((l) => l !== label)!;
  if (
    !(await db.prisma.careTeamMember.findFirst({ where: { patientId, providerId: consent!.providerId, ...activeMembership(new Date()) } }))
  )
    await db.prisma.careTeamMember.create({
      data: {
        id: 'ctm-raw-sql',
        patientId,
        providerId: consent!.providerId,
        role: 'CONSULTING',
        periodStart: new Date(Date.now() - 86_400_000),
      },
    });
  const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
  const vital = (id: string, effectiveAt: Date, sensitivity: Label, confidentiality: 'N' | 'R' | 'V' = 'N') => ({
    id,
    patientId,
    code: '8867-4',
    display: 'Heart rate',
    value: 70,
    unit: '/min',
    effectiveAt,
    sensitivity,
    confidentiality,
  });
  await db.prisma.observation.createMany({
    data: [
      vital('obs-raw-1', at(1), label),
      vital('obs-raw-2', at(2), other),
      vital('obs-raw-3', at(3), 'NONE', 'R'),
      vital('obs-raw-4b', at(4), 'NONE'),
      vital('obs-raw-4a', at(4), 'NONE'),
      vital('obs-raw-5', at(5), label, 'V'),
    ],
  });
  patient = { role: 'PATIENT', sub: ids[0]!, purpose: DEFAULT_PURPOSE.PATIENT };
}, 120_000);
afterAll(async () => {
  await db?.close();
});

const scheduler: Principal = { role: 'SCHEDULER', sub: 'stf-desk-1', purpose: DEFAULT_PURPOSE.SCHEDULER };
const billing: Principal = { role: 'BILLING', sub: 'stf-billing-1', purpose: DEFAULT_PURPOSE.BILLING };
const breakGlass = (): Principal => ({ ...clinician, purpose: 'BTG', breakGlassReason: 'Unresponsive on arrival' });

/** What a loader slot held: the value, or the error's code. */
const settled = async <T>(work: Promise<T>) =>
  work.then(
    (value) => ({ value }),
    (error: { extensions?: { code?: string } }) => ({ error: error.extensions?.code ?? String(error) }),
  );

describe('raw-SQL loaders return exactly what the Prisma queries they replaced returned', () => {
  it('reads patients by id as each caller may see them: its columns only, null for patients out of reach and for a missing id', async () => {
    for (const principal of [clinician, scheduler, billing, patient, breakGlass()]) {
      const data = createScopedData(db.prisma, principal, { batch: true });
      const got = await Promise.all(ids.map((id) => patientLoaders(data).patientById.load(id)));
      const scope = data.policy.patientsWhere()!;
      const rows = await db.prisma.patient.findMany({ where: { AND: [{ id: { in: ids } }, scope] } });
      const byId = new Map(rows.map((row) => [row.id, row]));
      const expected = ids.map((id) => {
        const row = byId.get(id);
        return row
          ? Object.fromEntries(['id', ...data.policy.patientColumns].map((column) => [column, (row as Record<string, unknown>)[column]]))
          : null;
      });
      expect(got).toEqual(expected);
      expect(got.at(-1)).toBeNull();
      expect(got.some((view) => view !== null)).toBe(true);
      if (principal.role === 'CLINICIAN' && !principal.breakGlassReason) expect(got.some((view) => view === null)).toBe(true);
    }
  });

  it("lists each patient's active care team, primary first, as Prisma's ordered query did", async () => {
    const data = createScopedData(db.prisma, scheduler, { batch: true });
    const got = await Promise.all(ids.map((id) => patientLoaders(data).careTeamByPatientId.load(id)));
    const rows = await db.prisma.careTeamMember.findMany({
      where: { patientId: { in: ids }, ...activeMembership(new Date()) },
      orderBy: [{ role: 'asc' }, { providerId: 'asc' }],
    });
    const expected = ids.map((id) => [...new Set(rows.filter((r) => r.patientId === id).map((r) => r.providerId))]);
    expect(got).toEqual(expected);
    expect(got.filter((team) => team.length > 1).length).toBeGreaterThan(0);
  });

  it("settles a clinician's relationships and consents as the Prisma filters did", async () => {
    for (const principal of [clinician, consentingClinician]) {
      const data = createScopedData(db.prisma, principal, { batch: true });
      const seen = await data.canSeePatient.loadMany(ids);
      const members = await db.prisma.careTeamMember.findMany({
        where: { providerId: principal.sub, patientId: { in: ids }, ...activeMembership(new Date()) },
      });
      expect(seen).toEqual(ids.map((id) => members.some((m) => m.patientId === id)));
      const labels = await data.consentedLabels.loadMany(ids);
      const consents = await db.prisma.consent.findMany({
        where: { providerId: principal.sub, patientId: { in: ids }, ...activeConsent(new Date()) },
      });
      expect(labels).toEqual(ids.map((id) => new Set<Label>(consents.filter((c) => c.patientId === id).map((c) => c.label))));
    }
    const consenting = await createScopedData(db.prisma, consentingClinician, { batch: true }).consentedLabels.loadMany(ids);
    expect(consenting.some((labels) => labels instanceof Set && labels.size > 0)).toBe(true);
  });

  it('reads allergies, medications and conditions as each caller may see them, NOT_FOUND for patients out of reach', async () => {
    const tables = {
      allergies: { rows: () => db.prisma.allergy.findMany({ where: { patientId: { in: ids } } }), at: 'recordedAt' },
      medications: { rows: () => db.prisma.medication.findMany({ where: { patientId: { in: ids } } }), at: 'startedAt' },
      conditions: { rows: () => db.prisma.condition.findMany({ where: { patientId: { in: ids } } }), at: 'onsetDate' },
    } as const;
    let guardedSeen = 0;
    let guardedHidden = 0;
    for (const principal of [clinician, consentingClinician, patient, breakGlass()]) {
      const data = createScopedData(db.prisma, principal, { batch: true });
      const policy = policyFor(principal);
      const loaders = recordLoaders(data);
      const visible = await data.canSeePatient.loadMany(ids);
      const consents = await db.prisma.consent.findMany({ where: { providerId: principal.sub, ...activeConsent(new Date()) } });
      for (const [kind, table] of Object.entries(tables) as [keyof typeof tables, (typeof tables)[keyof typeof tables]][]) {
        const loader = loaders[kind] as unknown as { load: (id: string) => Promise<unknown[]> };
        const got = await Promise.all(ids.map((id) => settled(loader.load(id))));
        const all = (await table.rows()) as unknown as ({ id: string; patientId: string } & Record<string, unknown>)[];
        const time = (row: Record<string, unknown>) => (row[table.at] as Date | null)?.getTime() ?? 0;
        const expected = ids.map((id, i) => {
          if (visible[i] !== true) return { error: 'NOT_FOUND' };
          const consented = new Set<Label>(consents.filter((c) => c.patientId === id).map((c) => c.label));
          const rows = all.filter((row) => row.patientId === id);
          const shown = rows.filter((row) => policy.rowVisible(row as never, consented));
          guardedSeen += shown.filter((row) => row.sensitivity !== 'NONE').length;
          guardedHidden += rows.length - shown.length;
          return { value: shown.sort((a, b) => time(b) - time(a) || a.id.localeCompare(b.id)) };
        });
        expect(got).toEqual(expected);
      }
    }
    // The data held labelled rows shown to some callers and hidden from others: the comparison covered both.
    expect(guardedSeen).toBeGreaterThan(0);
    expect(guardedHidden).toBeGreaterThan(0);
  });

  it("cuts each caller's latest vitals from cached windows exactly as the filtered window statement did", async () => {
    const cache = new ScopedCache({
      encryptionKey: randomBytes(32),
      ttlSeconds: { patient: 60, relationship: 60, clinical: 60, appointments: 60, provider: 60 },
    });
    let guardedShown = 0;
    for (const principal of [clinician, consentingClinician, patient, { ...patient, sub: consent0PatientId() }, scheduler]) {
      const policy = policyFor(principal);
      for (const last of [1, 3, 10]) {
        const rows = await db.prisma.$queryRaw<({ patientId: string; sensitivity: string } & Record<string, unknown>)[]>`
          SELECT t."id", t."patientId", t."code", t."display", t."value", t."unit", t."effectiveAt",
                 t."sensitivity"::text AS "sensitivity", t."confidentiality"::text AS "confidentiality"
          FROM (
            SELECT o.*, row_number() OVER (PARTITION BY o."patientId" ORDER BY o."effectiveAt" DESC, o."id") AS rn
            FROM "Observation" o
            WHERE o."patientId" = ANY(${ids}) AND ${policy.rowVisibleSql('o')}
          ) t
          WHERE t.rn <= ${last}
          ORDER BY t."patientId", t."effectiveAt" DESC, t."id"`;
        const reference = createScopedData(db.prisma, principal, { batch: true });
        const visible = await reference.canSeePatient.loadMany(ids);
        const expected = ids.map((id, i) =>
          !policy.mayRead('vitals')
            ? { error: 'FORBIDDEN' }
            : visible[i] !== true
              ? { error: 'NOT_FOUND' }
              : { value: rows.filter((r) => r.patientId === id) },
        );
        guardedShown += rows.filter((r) => r.sensitivity !== 'NONE').length;
        // Twice through the cache (filled, then read back) and once without it.
        for (const withCache of [cache, cache, undefined]) {
          const loaders = recordLoaders(createScopedData(db.prisma, principal, { batch: true, cache: withCache }));
          expect(await Promise.all(ids.map((id) => settled(loaders.vitals.load({ patientId: id, last }))))).toEqual(expected);
        }
      }
    }
    expect(guardedShown).toBeGreaterThan(0);
  });
});
