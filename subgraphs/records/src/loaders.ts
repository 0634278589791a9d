import { type Allergy, type ClinicalNote, type Condition, type Medication, type Observation, Prisma } from '@healthgraph/db';
import {
  type ClinicalKind,
  createLoader,
  groupBy,
  groupByShape,
  LABELS,
  type Label,
  loadAll,
  readThrough,
  type ScopedData,
} from '@healthgraph/kit';
import { forbidden, notFound } from '@healthgraph/platform';

export type Loaders = ReturnType<typeof createLoaders>;

type Labelled = { patientId: string; sensitivity: Label; confidentiality: 'N' | 'R' | 'V' };

/** The record type each kind of clinical list holds, as the audit trail names it. */
const RESOURCE_TYPE: Record<ClinicalKind, string> = {
  allergies: 'Allergy',
  medications: 'Medication',
  conditions: 'Condition',
  vitals: 'Observation',
  notes: 'ClinicalNote',
};

export interface NotesPageKey {
  patientId: string;
  size: number;
  after: [Date, string] | null;
}

/** An observation with its place among all of its patient's observations, newest first (1 is the newest). */
type RankedObservation = Observation & { ord: number };

export interface VitalsKey {
  patientId: string;
  last: number;
}

/** Rows anyone who may see the record may see: shareable through Redis, unless the caller's views may not leave the process. */
const open = (row: Labelled) => row.sensitivity === 'NONE' && row.confidentiality === 'N';

/**
 * Clinical loaders. Every batch first settles, for all its patients at once, whether the caller may
 * see them and this kind of record (asking the policy), then keeps only the rows the policy lets
 * this caller see; windows (latest vitals, pages of notes) are cut after hidden rows are left out,
 * so counts reveal nothing.
 */
export function createLoaders(data: ScopedData) {
  const { prisma, policy, batch } = data;

  /** Errors for patients or kinds out of reach (recorded as refusals); the ids that may be read. */
  async function gate(kind: ClinicalKind, patientIds: readonly string[]): Promise<{ errors: (Error | null)[]; readable: string[] }> {
    const refuse = (id: string) => data.audit.denied(id, RESOURCE_TYPE[kind], `Patient.${kind}`);
    if (!policy.mayRead(kind)) {
      for (const id of patientIds) refuse(id);
      return { errors: patientIds.map(() => forbidden(`this role and purpose may not read ${kind}`)), readable: [] };
    }
    const visible = await loadAll(data.canSeePatient, patientIds);
    const errors = patientIds.map((id, i) => (visible[i] === true ? null : notFound('Patient', id)));
    patientIds.forEach((id, i) => {
      if (errors[i]) refuse(id);
    });
    return { errors, readable: patientIds.filter((_, i) => errors[i] === null) };
  }

  /** The labels each patient consented to share with this caller (all of them where the policy says so). */
  async function consentedLabels(patientIds: readonly string[]): Promise<Map<string, ReadonlySet<Label>>> {
    if (policy.labels === 'all') return new Map(patientIds.map((id) => [id, new Set<Label>(LABELS)]));
    const labels = await loadAll(data.consentedLabels, patientIds);
    return new Map(patientIds.map((id, i) => [id, labels[i]!]));
  }

  /** Keeps the rows this caller may see; consent is looked up only for patients with guarded rows. */
  async function disclose<T extends Labelled>(rows: T[]): Promise<T[]> {
    const guarded = rows.filter((row) => !policy.rowVisible(row, new Set()));
    if (guarded.length === 0) return rows;
    const consent = await consentedLabels([...new Set(guarded.map((row) => row.patientId))]);
    return rows.filter((row) => policy.rowVisible(row, consent.get(row.patientId) ?? new Set()));
  }

  /**
   * A loader for a whole-list kind: one statement per batch for the rows, at most one for consents.
   * Each patient's rows are cached in two parts: open rows (may be shared through Redis) and
   * labelled or restricted rows (this process only). The caller's view is assembled from both and
   * filtered by the policy and the caller's consents on every read.
   */
  function listLoader<T extends Labelled & { id: string }>(
    kind: ClinicalKind,
    order: (a: T, b: T) => number,
    fetch: (patientIds: string[]) => Promise<T[]>,
  ) {
    return createLoader<string, T[]>(batch, async (patientIds) => {
      const { errors, readable } = await gate(kind, patientIds);
      const parts = ['open', 'guarded'] as const;
      const keys = readable.flatMap((id) => parts.map((part) => `${part}\u0000${id}`));
      const cached = await readThrough<T[]>(data.cache, 'clinical', keys, {
        key: (key) => `${kind}:${key}`,
        tags: (key) => [`clinical:${key.split('\u0000')[1]}`],
        shareable: (rows) => policy.shareable && rows.every(open),
        load: async (missing) => {
          const ids = [...new Set(missing.map((key) => key.split('\u0000')[1]!))];
          const rows = await fetch(ids);
          // Grouped in one pass: filtering every row for every key was quadratic in a panel's batch.
          const byKey = new Map<string, T[]>(missing.map((key) => [key, []]));
          for (const row of rows) byKey.get(`${open(row) ? 'open' : 'guarded'}\u0000${row.patientId}`)?.push(row);
          return missing.map((key) => byKey.get(key)!);
        },
      });
      const rows = await disclose(cached.flatMap((list) => list ?? []));
      const grouped = groupBy(patientIds, rows, (row) => row.patientId).map((list) => list.sort(order));
      return patientIds.map((_, i) => errors[i] ?? grouped[i]!);
    });
  }
  const newestFirst =
    <T extends { id: string }>(at: (row: T) => Date | null) =>
    (a: T, b: T) =>
      (at(b)?.getTime() ?? 0) - (at(a)?.getTime() ?? 0) || a.id.localeCompare(b.id);

  // Whole lists as raw SQL with one array parameter (`= ANY`), every column the model has, enums as
  // their names: the rows Prisma's findMany gave, without its query builder, which cost more CPU
  // than the query on a panel's batch (README, Benchmarks; records loaders.test.ts compares both).
  return {
    allergies: listLoader<Allergy>(
      'allergies',
      newestFirst((r) => r.recordedAt),
      (ids) => prisma.$queryRaw<Allergy[]>`
        SELECT "id", "patientId", "code", "display", "reaction", "severity", "criticality", "recordedAt",
               "sensitivity"::text AS "sensitivity", "confidentiality"::text AS "confidentiality"
        FROM "Allergy" WHERE "patientId" = ANY(${ids})`,
    ),
    medications: listLoader<Medication>(
      'medications',
      newestFirst((r) => r.startedAt),
      (ids) => prisma.$queryRaw<Medication[]>`
        SELECT "id", "patientId", "code", "display", "dosage", "status", "startedAt",
               "sensitivity"::text AS "sensitivity", "confidentiality"::text AS "confidentiality"
        FROM "Medication" WHERE "patientId" = ANY(${ids})`,
    ),
    conditions: listLoader<Condition>(
      'conditions',
      newestFirst((r) => r.onsetDate),
      (ids) => prisma.$queryRaw<Condition[]>`
        SELECT "id", "patientId", "code", "display", "clinicalStatus", "onsetDate",
               "sensitivity"::text AS "sensitivity", "confidentiality"::text AS "confidentiality"
        FROM "Condition" WHERE "patientId" = ANY(${ids})`,
    ),

    /**
     * The newest `last` observations the caller may see, per patient: one statement per distinct
     * `last`, cached. Which rows a caller may see depends only on a row's class (open, restricted
     * without a label, or one label), so the cache keeps each class's newest `last` (open rows in
     * the shareable part, the others in this process only); the caller's window is then cut from
     * the classes it may see, exactly the newest `last` it may see. `ord` is each row's place among
     * all the patient's observations, in the database's own order, so ties sort as the SQL did.
     */
    vitals: createLoader<VitalsKey, Observation[], string>(
      batch,
      async (keys) => {
        const { errors } = await gate(
          'vitals',
          keys.map((k) => k.patientId),
        );
        const results = new Map<string, Observation[]>();
        const readable = keys.filter((_, i) => errors[i] === null);
        for (const [, group] of groupByShape(readable, (k) => String(k.last))) {
          const { last } = group[0]!;
          const ids = [...new Set(group.map((k) => k.patientId))];
          const parts = ids.flatMap((id) => [`open\u0000${id}`, `guarded\u0000${id}`]);
          const cached = await readThrough<RankedObservation[]>(data.cache, 'clinical', parts, {
            key: (key) => `vitals:${last}:${key}`,
            tags: (key) => [`clinical:${key.split('\u0000')[1]}`],
            shareable: (rows) => policy.shareable && rows.every(open),
            load: async (missing) => {
              const missingIds = [...new Set(missing.map((key) => key.split('\u0000')[1]!))];
              const rows = await prisma.$queryRaw<RankedObservation[]>`
                SELECT t."id", t."patientId", t."code", t."display", t."value", t."unit", t."effectiveAt",
                       t."sensitivity"::text AS "sensitivity", t."confidentiality"::text AS "confidentiality", t."ord"::int AS "ord"
                FROM (
                  SELECT o.*,
                         row_number() OVER (PARTITION BY o."patientId" ORDER BY o."effectiveAt" DESC, o."id") AS ord,
                         row_number() OVER (
                           PARTITION BY o."patientId",
                             CASE WHEN o."sensitivity" <> 'NONE' THEN o."sensitivity"::text WHEN o."confidentiality" = 'N' THEN 'open' ELSE 'restricted' END
                           ORDER BY o."effectiveAt" DESC, o."id") AS rn
                  FROM "Observation" o
                  WHERE o."patientId" = ANY(${missingIds})
                ) t
                WHERE t.rn <= ${last}
                ORDER BY t."patientId", t.ord`;
              const byKey = new Map<string, RankedObservation[]>(missing.map((key) => [key, []]));
              for (const row of rows) byKey.get(`${open(row) ? 'open' : 'guarded'}\u0000${row.patientId}`)?.push(row);
              return missing.map((key) => byKey.get(key)!);
            },
          });
          const visible = await disclose(cached.flatMap((list) => list ?? []));
          groupBy(ids, visible, (r) => r.patientId).forEach((list, i) => {
            const window = list.sort((a, b) => a.ord - b.ord).slice(0, last);
            results.set(
              `${ids[i]}#${last}`,
              window.map(({ ord: _, ...row }) => row),
            );
          });
        }
        return keys.map((k, i) => errors[i] ?? results.get(`${k.patientId}#${k.last}`) ?? []);
      },
      (k) => `${k.patientId}#${k.last}`,
    ),

    /** Pages of the notes the caller may see, newest first: one statement per distinct page shape. */
    notes: createLoader<NotesPageKey, ClinicalNote[], string>(
      batch,
      async (keys) => {
        const { errors } = await gate(
          'notes',
          keys.map((k) => k.patientId),
        );
        const shapeOf = (k: NotesPageKey) => `${k.size}|${k.after?.[0].toISOString() ?? ''}|${k.after?.[1] ?? ''}`;
        const results = new Map<string, ClinicalNote[]>();
        for (const [shape, group] of groupByShape(
          keys.filter((_, i) => errors[i] === null),
          shapeOf,
        )) {
          const { size, after } = group[0]!;
          const ids = [...new Set(group.map((k) => k.patientId))];
          const rows = await prisma.$queryRaw<ClinicalNote[]>`
            SELECT t."id", t."patientId", t."authorId", t."title", t."text", t."createdAt",
                   t."sensitivity"::text AS "sensitivity", t."confidentiality"::text AS "confidentiality"
            FROM (
              SELECT n.*, row_number() OVER (PARTITION BY n."patientId" ORDER BY n."createdAt" DESC, n."id") AS rn
              FROM "ClinicalNote" n
              WHERE n."patientId" = ANY(${ids}) AND ${policy.rowVisibleSql('n')}
                ${after ? Prisma.sql`AND (n."createdAt", n."id") < (${after[0]}, ${after[1]})` : Prisma.empty}
            ) t
            WHERE t.rn <= ${size + 1}
            ORDER BY t."patientId", t."createdAt" DESC, t."id"`;
          groupBy(ids, rows, (r) => r.patientId).forEach((list, i) => {
            results.set(`${shape}#${ids[i]}`, list);
          });
        }
        return keys.map((k, i) => errors[i] ?? results.get(`${shapeOf(k)}#${k.patientId}`) ?? []);
      },
      (k) => `${k.size}|${k.after?.[0].toISOString() ?? ''}|${k.after?.[1] ?? ''}#${k.patientId}`,
    ),
  };
}
