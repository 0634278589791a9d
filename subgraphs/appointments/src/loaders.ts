import { type Appointment, Prisma } from '@healthgraph/db';
import { byKey, createLoader, groupBy, groupByShape, loadAll, readThrough, type ScopedData } from '@healthgraph/kit';
import { expandSlots, type Slot } from './slots.js';

export type Loaders = ReturnType<typeof createLoaders>;

/** One page of one patient's appointments: [from, to), after the (start, id) cursor. */
export interface AppointmentPageKey {
  patientId: string;
  from: Date;
  to: Date;
  size: number;
  after: [Date, string] | null;
}

/** At most `size` live appointments of one provider on one UTC day. */
export interface ScheduleKey {
  providerId: string;
  day: Date;
  size: number;
}

const pageShape = (k: AppointmentPageKey) =>
  `${k.from.toISOString()}|${k.to.toISOString()}|${k.size}|${k.after?.[0].toISOString() ?? ''}|${k.after?.[1] ?? ''}`;
const DAY = 86_400_000;

/** Per-request loaders; each folds the caller's patient scope (the policy's) into its single statement. */
export function createLoaders(data: ScopedData) {
  const { prisma, policy, batch } = data;
  // The reason for a visit is clinical: a view without that scope never holds it.
  const view = (row: Appointment): Appointment => (policy.appointmentReason ? row : { ...row, reason: null });
  return {
    slotsByProvider: createSlotLoader(data),
    appointmentById: createLoader<string, Appointment | null>(batch, async (ids) => {
      const scope = policy.patientsWhere();
      if (!scope) return ids.map(() => null);
      const rows = await prisma.appointment.findMany({ where: { id: { in: [...ids] }, patient: scope } });
      return byKey(ids, rows.map(view), (a) => a.id);
    }),

    /**
     * Pages of appointments for many patients in one statement per distinct page shape: a window
     * function numbers each patient's rows so every patient gets at most size + 1.
     */
    appointmentsByPatient: createLoader<AppointmentPageKey, Appointment[], string>(
      batch,
      async (keys) => {
        const results = new Map<string, Appointment[]>();
        for (const [shape, group] of groupByShape(keys, pageShape)) {
          const { from, to, size, after } = group[0]!;
          const requested = [...new Set(group.map((k) => k.patientId))];
          // Visibility per caller first (cached per relationship); pages are then the same for everyone who may see them.
          const visible = await loadAll(data.canSeePatient, requested);
          const readable = requested.filter((_, i) => visible[i] === true);
          const pages = await readThrough<Appointment[]>(data.cache, 'appointments', readable, {
            key: (id) => `page:${shape}:reason=${policy.appointmentReason}:${id}`,
            tags: (id) => [`appointments:patient:${id}`],
            shareable: () => policy.shareable,
            load: async (ids) => {
              const rows = await prisma.$queryRaw<Appointment[]>`
            SELECT t."id", t."patientId", t."providerId", t."start", t."end", t."status", t."reason" FROM (
              SELECT a."id", a."patientId", a."providerId", a."start", a."end", a."status"::text AS "status", a."reason",
                     row_number() OVER (PARTITION BY a."patientId" ORDER BY a."start", a."id") AS rn
              FROM "Appointment" a
              WHERE a."patientId" = ANY(${ids}) AND a."start" >= ${from} AND a."start" < ${to}
                ${after ? Prisma.sql`AND (a."start", a."id") > (${after[0]}, ${after[1]})` : Prisma.empty}
                AND ${policy.patientScopeSql(Prisma.raw('a."patientId"'))}
            ) t
            WHERE t.rn <= ${size + 1}
            ORDER BY t."patientId", t."start", t."id"`;
              return groupBy(ids, rows.map(view), (r) => r.patientId);
            },
          });
          readable.forEach((id, i) => {
            results.set(`${shape}#${id}`, pages[i] ?? []);
          });
        }
        return keys.map((k) => results.get(`${pageShape(k)}#${k.patientId}`) ?? []);
      },
      (k) => `${pageShape(k)}#${k.patientId}`,
    ),

    /** Live appointments of many providers on one UTC day, of patients the caller reaches: one statement per distinct day and size. */
    scheduleByProvider: createLoader<ScheduleKey, Appointment[], string>(
      batch,
      async (keys) => {
        const results = new Map<string, Appointment[]>();
        const scope = policy.patientsWhere();
        for (const [, group] of groupByShape(keys, (k) => `${k.day.getTime()}|${k.size}`)) {
          const { day, size } = group[0]!;
          const providerIds = [...new Set(group.map((k) => k.providerId))];
          const rows = scope
            ? await prisma.$queryRaw<Appointment[]>`
            SELECT t."id", t."patientId", t."providerId", t."start", t."end", t."status", t."reason" FROM (
              SELECT a."id", a."patientId", a."providerId", a."start", a."end", a."status"::text AS "status", a."reason",
                     row_number() OVER (PARTITION BY a."providerId" ORDER BY a."start", a."id") AS rn
              FROM "Appointment" a
              WHERE a."providerId" = ANY(${providerIds}) AND a."start" >= ${day} AND a."start" < ${new Date(day.getTime() + DAY)}
                AND a."status" <> 'CANCELLED' AND ${policy.patientScopeSql(Prisma.raw('a."patientId"'))}
            ) t
            WHERE t.rn <= ${size}
            ORDER BY t."providerId", t."start", t."id"`
            : [];
          groupBy(providerIds, rows.map(view), (r) => r.providerId).forEach((list, i) => {
            results.set(`${providerIds[i]}@${day.getTime()}|${size}`, list);
          });
        }
        return keys.map((k) => results.get(`${k.providerId}@${k.day.getTime()}|${k.size}`) ?? []);
      },
      (k) => `${k.providerId}@${k.day.getTime()}|${k.size}`,
    ),
  };
}

export interface SlotWindowKey {
  providerId: string;
  from: Date;
  to: Date;
}

/** Free slots for many providers over one window: two statements per distinct window. */
export function createSlotLoader({ prisma, batch }: ScopedData) {
  const windowOf = (k: SlotWindowKey) => `${k.from.toISOString()}|${k.to.toISOString()}`;
  return createLoader<SlotWindowKey, Slot[], string>(
    batch,
    async (keys) => {
      const results = new Map<string, Slot[]>();
      const now = new Date();
      for (const [window, group] of groupByShape(keys, windowOf)) {
        const { from, to } = group[0]!;
        const providerIds = [...new Set(group.map((k) => k.providerId))];
        const [availability, booked] = await Promise.all([
          prisma.providerAvailability.findMany({ where: { providerId: { in: providerIds } } }),
          prisma.appointment.findMany({
            where: { providerId: { in: providerIds }, activeStart: { gte: from, lt: to } },
            select: { providerId: true, start: true },
          }),
        ]);
        const availabilityBy = groupBy(providerIds, availability, (a) => a.providerId);
        const bookedBy = groupBy(providerIds, booked, (a) => a.providerId);
        providerIds.forEach((id, i) => {
          const taken = new Set(bookedBy[i]!.map((b) => b.start.getTime()));
          results.set(`${window}#${id}`, expandSlots(availabilityBy[i]!, taken, from, to, now));
        });
      }
      return keys.map((k) => results.get(`${windowOf(k)}#${k.providerId}`) ?? []);
    },
    (k) => `${windowOf(k)}#${k.providerId}`,
  );
}
