import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from './database.js';
import { applyMigrations } from './migrate.js';
import {
  DEFAULT_ANCHOR,
  FAMILY_NAMES,
  hash32,
  hashSql,
  planSeed,
  SEED_TABLES,
  SEEDED,
  type SeedOptions,
  type SeedProgress,
  type SeedTable,
  seedDatabase,
} from './seed.js';

const DAY = 86_400_000;

/** One md5 per table over every row in id order: equal fingerprints mean equal data. */
async function fingerprint(db: Database): Promise<Record<SeedTable, string>> {
  const entries = await Promise.all(
    SEED_TABLES.map(async (table) => {
      const [row] = await db.prisma.$queryRawUnsafe<{ md5: string | null }[]>(
        `SELECT md5(string_agg(t::text, E'\\n' ORDER BY t."id")) AS md5 FROM "${table}" t`,
      );
      return [table, row?.md5 ?? 'empty'] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<SeedTable, string>;
}

/** A fresh in-memory embedded database, migrated. */
async function embedded(): Promise<Database> {
  const db = await openDatabase({ dataDir: 'memory://' });
  await applyMigrations(db.adapterFactory);
  return db;
}

const rows = <T>(db: Database, sql: string) => db.prisma.$queryRawUnsafe<T[]>(sql);
const count = async (db: Database, sql: string) => Number((await rows<{ n: bigint | number }>(db, sql))[0]!.n);

describe('the seed plan', () => {
  it('scales providers with patients: 7.5%, never fewer than 10', () => {
    expect(planSeed({ patients: 4 }).providers).toBe(10);
    expect(planSeed({ patients: 2000 }).providers).toBe(150);
    expect(planSeed({ patients: 1_000_000 }).providers).toBe(75_000);
    expect(planSeed({ patients: 2000, providers: 40 }).providers).toBe(40);
  });

  it('writes a million patients in bounded statements, not row by row', () => {
    const plan = planSeed({ patients: 1_000_000 });
    expect(plan.steps.filter((step) => step.table === 'Patient')).toHaveLength(10);
    expect(plan.steps.every((step) => /^INSERT INTO "\w+" \(.+\)\s+SELECT /s.test(step.sql) && step.sql.includes('generate_series'))).toBe(
      true,
    );
  });

  it('is a pure function of its options', () => {
    expect(planSeed({ patients: 300, seed: 7 })).toEqual(planSeed({ patients: 300, seed: 7 }));
    expect(planSeed({ patients: 300, seed: 7 }).steps).not.toEqual(planSeed({ patients: 300, seed: 8 }).steps);
  });

  it('uses no version-dependent hash or random function', () => {
    const sql = planSeed({ patients: 300 })
      .steps.map((step) => step.sql)
      .join('\n');
    expect(sql).not.toMatch(/\b(random|hashint[48]|hashtext|hash_record|md5|gen_random_uuid|now|clock_timestamp)\s*\(/i);
  });

  it('refuses options it cannot honour, saying why', () => {
    expect(() => planSeed({ patients: 3 })).toThrow(/at least|from 4/);
    expect(() => planSeed({ patients: 2.5 })).toThrow(RangeError);
    expect(() => planSeed({ appointmentsPerPatient: -1 })).toThrow(RangeError);
    expect(() => planSeed({ anchor: new Date('nope') })).toThrow(/anchor/);
    // 10 providers have ~3,100 slots each in the window: 100,000 patients x 10 visits do not fit.
    expect(() => planSeed({ patients: 100_000, providers: 10 })).toThrow(/give at least \d+ providers/);
  });
});

describe('a seeded database', () => {
  let db: Database;
  /** A second embedded database: migrated only at first, then seeded with other options. */
  let other: Database;
  let counts: Record<SeedTable, number>;
  const progress: SeedProgress[] = [];

  beforeAll(async () => {
    [db, other] = await Promise.all([embedded(), embedded()]);
    // Rows that must not survive a seed: an audit event and a stray patient.
    await db.prisma.patient.create({
      data: { id: 'pat-stray', mrn: 'MRN-stray', givenName: 'Stray', familyName: 'Row', birthDate: new Date('1990-01-01') },
    });
    await db.prisma.auditEvent.create({
      data: {
        actorSub: 'x',
        actorRole: 'ADMIN',
        purpose: 'TREAT',
        resourceType: 'Patient',
        resourceIds: [],
        fieldPaths: [],
        requestId: 'r',
        outcome: 'DISCLOSED',
      },
    });
    counts = await seedDatabase(db.prisma, { patients: 2000, onProgress: (p) => progress.push(p) });
  }, 180_000);
  afterAll(async () => {
    await db?.close();
    await other?.close();
  });

  it('computes the same hash in SQL as in JavaScript, without bigint overflow', async () => {
    const keys = [0, 1, 2, 63, 64, 65_535, 999_999 * 64 + 49, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 6_400_000_000];
    for (const seed of [0, 42, 0xffffffff]) {
      const [row] = await rows<{ h: string[] }>(
        db,
        `SELECT ARRAY[${keys.map((key) => `(${hashSql(seed, 7, `${key}::bigint`)})::text`).join(', ')}] AS h`,
      );
      expect(row!.h.map(Number)).toEqual(keys.map((key) => hash32(seed, 7, key)));
    }
  });

  describe('sizes', () => {
    it('returns the rows it wrote, per table, and replaces everything that was there', async () => {
      expect(counts).toMatchObject({ Patient: 2000, Provider: 150, ProviderAvailability: 750, Appointment: 20_000, Observation: 20_000 });
      for (const table of SEED_TABLES) expect(await count(db, `SELECT count(*) AS n FROM "${table}"`), table).toBe(counts[table]);
      expect(await db.prisma.patient.count({ where: { id: 'pat-stray' } })).toBe(0);
      expect(await db.prisma.auditEvent.count()).toBe(0);
    });

    it('reports progress per table, ending with the final row counts, then the indexes', () => {
      const finished = progress.filter((p) => p.phase === 'rows' && p.done);
      expect(finished.map((p) => p.phase === 'rows' && [p.table, p.rows])).toEqual(SEED_TABLES.map((table) => [table, counts[table]]));
      const last = progress.at(-1)!;
      expect(last).toMatchObject({ phase: 'indexes', done: true });
      expect(last.phase === 'indexes' && last.built).toBe(last.phase === 'indexes' && last.total);
    });

    it('puts the indexes and foreign keys back as the migrations made them', async () => {
      const shape = async (of: Database) =>
        rows<{ indexes: string; keys: string }>(
          of,
          `SELECT
          (SELECT string_agg(indexdef, E'\\n' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = current_schema()) AS indexes,
          (SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated, E'\\n' ORDER BY conname) FROM pg_constraint WHERE contype = 'f') AS keys`,
        );
      const [seeded, migrated] = [await shape(db), await shape(other)];
      expect(seeded[0]!.keys).toContain('Appointment_patientId_fkey');
      expect(seeded[0]!.indexes).toContain('Appointment_providerId_activeStart_key');
      expect(seeded).toEqual(migrated);
    });

    it('gives about 12% of patients one labelled diagnosis, half of them with consent for their primary physician', async () => {
      const labelled = await count(db, `SELECT count(*) AS n FROM "Condition" WHERE sensitivity <> 'NONE'`);
      expect(labelled / 2000).toBeGreaterThan(0.09);
      expect(labelled / 2000).toBeLessThan(0.15);
      expect(await count(db, `SELECT count(*) AS n FROM "Condition" WHERE sensitivity <> 'NONE' AND confidentiality <> 'R'`)).toBe(0);
      expect(await count(db, `SELECT count(DISTINCT "patientId") AS n FROM "Condition" WHERE sensitivity <> 'NONE'`)).toBe(labelled);
      expect(counts.Consent / labelled).toBeGreaterThan(0.38);
      expect(counts.Consent / labelled).toBeLessThan(0.62);
      // Each consent names the patient's primary physician and the label the patient carries.
      const stray = await count(
        db,
        `SELECT count(*) AS n FROM "Consent" c WHERE NOT EXISTS (
        SELECT 1 FROM "CareTeamMember" m JOIN "Condition" d ON d."patientId" = m."patientId" AND d.sensitivity = c.label
         WHERE m."patientId" = c."patientId" AND m."providerId" = c."providerId" AND m.role = 'PRIMARY')`,
      );
      expect(stray).toBe(0);
      const labelledMeds = await count(db, `SELECT count(*) AS n FROM "Medication" WHERE sensitivity <> 'NONE'`);
      expect(labelledMeds).toBeGreaterThan(labelled * 0.5);
      expect(labelledMeds).toBeLessThan(labelled);
      expect(await count(db, `SELECT count(*) AS n FROM "ClinicalNote" WHERE sensitivity <> 'NONE'`)).toBe(labelled);
    });

    it('draws family names from a long tail, from very common to rare', async () => {
      const names = await rows<{ name: string; n: number }>(
        db,
        `SELECT "familyName" AS name, count(*)::int AS n FROM (SELECT "familyName" FROM "Patient" UNION ALL SELECT "familyName" FROM "Provider") x GROUP BY 1 ORDER BY 2 DESC`,
      );
      expect(names.filter((row) => !FAMILY_NAMES.includes(row.name))).toEqual([]);
      expect(names[0]!.n).toBeGreaterThan(20);
      expect(names.filter((row) => row.n === 1).length).toBeGreaterThan(200);
    });

    it('restricts about 3% of unlabelled medications and conditions', async () => {
      const [share] = await rows<{ r: number }>(
        db,
        `SELECT avg((confidentiality = 'R')::int)::float8 AS r FROM (SELECT confidentiality FROM "Medication" WHERE sensitivity = 'NONE' UNION ALL SELECT confidentiality FROM "Condition" WHERE sensitivity = 'NONE') x`,
      );
      expect(share!.r).toBeGreaterThan(0.015);
      expect(share!.r).toBeLessThan(0.05);
    });
  });

  describe('the documented ids', () => {
    it('keep their meaning at the default size', () => documentedIdsHold(db));

    it('keep their meaning at the smallest size', async () => {
      await seedDatabase(other.prisma, { patients: 4, seed: 99 });
      await documentedIdsHold(other);
    }, 60_000);
  });

  describe('no duplicates', () => {
    it.each(['Allergy', 'Medication', 'Condition'])('never gives one patient the same %s code twice', async (table) => {
      expect(await count(db, `SELECT count(*) AS n FROM (SELECT 1 FROM "${table}" GROUP BY "patientId", code HAVING count(*) > 1) d`)).toBe(
        0,
      );
    });

    it('gives pat-000001 each of its allergies once', async () => {
      const codes = (await db.prisma.allergy.findMany({ where: { patientId: SEEDED.patient }, select: { code: true } })).map((a) => a.code);
      expect(new Set(codes).size).toBe(codes.length);
    });

    it('never puts a provider twice on one care team', async () => {
      expect(
        await count(
          db,
          `SELECT count(*) AS n FROM (SELECT 1 FROM "CareTeamMember" GROUP BY "patientId", "providerId" HAVING count(*) > 1) d`,
        ),
      ).toBe(0);
      expect(
        await count(
          db,
          `SELECT count(*) AS n FROM (SELECT "patientId" FROM "CareTeamMember" WHERE role = 'PRIMARY' GROUP BY "patientId" HAVING count(*) = 1) d`,
        ),
      ).toBe(2000);
    });
  });

  describe('appointments', () => {
    it('never puts two appointments, live or cancelled, in one provider slot', async () => {
      expect(
        await count(db, `SELECT count(*) AS n FROM (SELECT 1 FROM "Appointment" GROUP BY "providerId", start HAVING count(*) > 1) d`),
      ).toBe(0);
      expect(
        await count(
          db,
          `SELECT count(*) AS n FROM "Appointment" WHERE ("activeStart" IS NULL) <> (status = 'CANCELLED') OR ("activeStart" IS NOT NULL AND "activeStart" <> start)`,
        ),
      ).toBe(0);
    });

    it('gives each patient ten, with members of their care team, in working hours on weekdays', async () => {
      expect(await count(db, `SELECT count(*) AS n FROM (SELECT 1 FROM "Appointment" GROUP BY "patientId" HAVING count(*) <> 10) d`)).toBe(
        0,
      );
      expect(
        await count(
          db,
          `SELECT count(*) AS n FROM "Appointment" a WHERE NOT EXISTS (SELECT 1 FROM "CareTeamMember" m WHERE m."patientId" = a."patientId" AND m."providerId" = a."providerId")`,
        ),
      ).toBe(0);
      expect(
        await count(
          db,
          `SELECT count(*) AS n FROM "Appointment" a WHERE NOT EXISTS (
        SELECT 1 FROM "ProviderAvailability" v WHERE v."providerId" = a."providerId" AND v.weekday = extract(dow FROM a.start)
          AND extract(hour FROM a.start) * 60 + extract(minute FROM a.start) >= v."startMinute"
          AND extract(hour FROM a."end") * 60 + extract(minute FROM a."end") <= v."endMinute")`,
        ),
      ).toBe(0);
    });

    it('runs from 180 days before the anchor to 90 after, booked ahead and settled behind', async () => {
      const [range] = await rows<{ first: Date; last: Date }>(db, `SELECT min(start) AS first, max(start) AS last FROM "Appointment"`);
      expect(range!.first.getTime()).toBeGreaterThanOrEqual(DEFAULT_ANCHOR.getTime() - 180 * DAY);
      expect(range!.last.getTime()).toBeLessThan(DEFAULT_ANCHOR.getTime() + 91 * DAY);
      const statuses = await rows<{ future: boolean; status: string; n: number }>(
        db,
        `SELECT start >= TIMESTAMP '2026-11-02' AS future, status::text, count(*)::int AS n FROM "Appointment" GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      expect(statuses.filter((s) => !s.future).map((s) => s.status)).toEqual(['CANCELLED', 'FULFILLED', 'NOSHOW']);
      expect(statuses.filter((s) => s.future).map((s) => s.status)).toEqual(['BOOKED', 'CANCELLED']);
      expect(statuses.find((s) => s.future && s.status === 'BOOKED')!.n).toBeGreaterThan(2000);
    });

    it('follows the anchor option', async () => {
      const anchor = new Date('2030-03-15T00:00:00Z');
      await seedDatabase(other.prisma, { patients: 40, anchor });
      const [range] = await rows<{ first: Date; last: Date }>(other, `SELECT min(start) AS first, max(start) AS last FROM "Appointment"`);
      expect(range!.first.getTime()).toBeGreaterThanOrEqual(anchor.getTime() - 180 * DAY);
      expect(range!.last.getTime()).toBeLessThan(anchor.getTime() + 91 * DAY);
      expect(range!.last.getTime()).toBeGreaterThan(anchor.getTime());
    }, 60_000);
  });

  describe('determinism', () => {
    const options: SeedOptions = { patients: 300, seed: 7 };
    let first: Record<SeedTable, string>;

    beforeAll(async () => {
      await seedDatabase(db.prisma, options);
      first = await fingerprint(db);
    }, 60_000);

    it('gives the same rows and ids for the same options', async () => {
      await seedDatabase(db.prisma, { patients: 2000 });
      await seedDatabase(db.prisma, options);
      expect(await fingerprint(db)).toEqual(first);
    }, 60_000);

    it('gives different rows for another seed', async () => {
      await seedDatabase(db.prisma, { ...options, seed: 8 });
      const other = await fingerprint(db);
      for (const table of SEED_TABLES.filter((t) => t !== 'ProviderAvailability')) expect(other[table], table).not.toBe(first[table]);
    }, 60_000);

    it.skipIf(!process.env.DATABASE_URL)(
      'gives the same rows on PostgreSQL as on the embedded database',
      async () => {
        const base = process.env.DATABASE_URL!;
        const name = `healthgraph_seed_test_${randomBytes(6).toString('hex')}`;
        const admin = new pg.Client({ connectionString: base });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${name}`);
        const url = new URL(base);
        url.pathname = `/${name}`;
        const server = await openDatabase({ url: url.toString() });
        try {
          await applyMigrations(server.adapterFactory);
          await seedDatabase(server.prisma, options);
          expect(await fingerprint(server)).toEqual(first);
        } finally {
          await server.close();
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await admin.end();
        }
      },
      120_000,
    );
  });
});

/** The promises README.md and SEEDED make about the documented ids. */
async function documentedIdsHold(db: Database) {
  const providers = await db.prisma.provider.findMany({ where: { id: { in: [SEEDED.clinician, SEEDED.otherClinician] } } });
  expect(providers.map((p) => p.specialty)).toEqual(['Family Medicine', 'Family Medicine']);
  const team = async (patientId: string) =>
    (await db.prisma.careTeamMember.findMany({ where: { patientId } })).map((m) => [m.providerId, m.role]);
  for (const patientId of [SEEDED.patient, SEEDED.psyPatient]) {
    expect(await team(patientId)).toContainEqual([SEEDED.clinician, 'PRIMARY']);
    expect((await team(patientId)).map(([providerId]) => providerId)).not.toContain(SEEDED.otherClinician);
  }
  for (const patientId of ['pat-000003', 'pat-000004']) expect(await team(patientId)).toContainEqual([SEEDED.otherClinician, 'PRIMARY']);

  const where = { patientId: SEEDED.patient };
  expect(await db.prisma.allergy.count({ where })).toBeGreaterThanOrEqual(2);
  expect(await db.prisma.medication.count({ where })).toBeGreaterThanOrEqual(2);
  expect(await db.prisma.observation.count({ where })).toBeGreaterThanOrEqual(2);
  expect(await db.prisma.clinicalNote.count({ where })).toBeGreaterThanOrEqual(2);
  expect(await db.prisma.appointment.count({ where })).toBeGreaterThanOrEqual(2);
  expect(await db.prisma.condition.count({ where: { ...where, sensitivity: { not: 'NONE' } } })).toBe(0);

  const psy = { patientId: SEEDED.psyPatient };
  expect(
    await db.prisma.condition.findMany({
      where: { ...psy, sensitivity: { not: 'NONE' } },
      select: { sensitivity: true, confidentiality: true },
    }),
  ).toEqual([{ sensitivity: 'PSY', confidentiality: 'R' }]);
  expect(await db.prisma.medication.count({ where: { ...psy, sensitivity: 'PSY' } })).toBe(1);
  expect(await db.prisma.clinicalNote.count({ where: { ...psy, sensitivity: 'PSY' } })).toBe(1);
  expect(await db.prisma.consent.count({ where: psy })).toBe(0);
}
