import type { PrismaClient } from '@healthgraph/db';

export interface ScheduleFixture {
  /** The clinician whose schedule it is; created with the fixture. */
  providerId: string;
  /** Appointment count per day (YYYY-MM-DD): each appointment has its own patient on the clinician's care team. */
  days: Record<string, number>;
  /** Prefix of every id the fixture writes, so several fixtures can share a database. */
  idPrefix: string;
}

/**
 * A clinician's day, reading each patient's allergies and latest vitals from the records
 * subgraph: the shape that costs one statement per appointment without batching.
 */
export const SCHEDULE_PROBE = `query DaySchedule($provider: ID!, $date: Date!, $first: Int = 100) {
  provider(id: $provider) {
    name { text }
    schedule(date: $date, first: $first) {
      start
      provider { name { text } }
      patient { name { text } allergies { code { display } } vitals(last: 1) { value unit } }
    }
  }
}`;

/** Minutes between appointments: 500 fit in one day. */
const SPACING_MINUTES = 2;

/**
 * A clinician's schedule of chosen sizes, for measuring how a schedule query grows with its
 * length. Every patient has two allergies and three vitals, so a query that reads them per
 * appointment shows N+1 at once. Returns false (writing nothing) when the clinician exists.
 */
export async function writeScheduleFixture(prisma: PrismaClient, { providerId, days, idPrefix }: ScheduleFixture): Promise<boolean> {
  if (await prisma.provider.findUnique({ where: { id: providerId }, select: { id: true } })) return false;
  const validFrom = new Date('2026-01-01');
  const perDay = Object.values(days);
  if (perDay.some((n) => n * SPACING_MINUTES > 1440)) throw new Error(`at most ${1440 / SPACING_MINUTES} appointments a day`);
  await prisma.$transaction(
    async (tx) => {
      await tx.provider.create({
        data: {
          id: providerId,
          npi: `19${String(Math.abs(hash(providerId)))
            .padStart(8, '0')
            .slice(0, 8)}`,
          givenName: 'Nora',
          familyName: 'Plus',
          specialty: 'Internal Medicine',
        },
      });
      await tx.providerAvailability.createMany({
        data: [0, 1, 2, 3, 4, 5, 6].map((weekday) => ({
          id: `avl-${idPrefix}-${weekday}`,
          providerId,
          weekday,
          startMinute: 0,
          endMinute: 1440,
          slotMinutes: SPACING_MINUTES,
          validFrom,
        })),
      });
      let seq = 0;
      for (const [day, count] of Object.entries(days)) {
        const ids = Array.from({ length: count }, () => `pat-${idPrefix}-${String(++seq).padStart(4, '0')}`);
        await tx.patient.createMany({
          data: ids.map((id, i) => ({
            id,
            mrn: `MRN-${id}`,
            givenName: `Given${i}`,
            familyName: `Family${i}`,
            birthDate: new Date('1980-05-05'),
          })),
        });
        await tx.careTeamMember.createMany({
          data: ids.map((id) => ({ id: `ctm-${id}`, patientId: id, providerId, role: 'PRIMARY' as const, periodStart: validFrom })),
        });
        await tx.allergy.createMany({
          data: ids.flatMap((id) =>
            [1, 2].map((k) => ({ id: `alg-${id}-${k}`, patientId: id, code: '91936005', display: 'Penicillin', recordedAt: validFrom })),
          ),
        });
        await tx.observation.createMany({
          data: ids.flatMap((id) =>
            [1, 2, 3].map((k) => ({
              id: `obs-${id}-${k}`,
              patientId: id,
              code: '8867-4',
              display: 'Heart rate',
              value: 60 + k,
              unit: '/min',
              effectiveAt: new Date(Date.UTC(2026, 0, k)),
            })),
          ),
        });
        const start = new Date(`${day}T00:00:00Z`).getTime();
        await tx.appointment.createMany({
          data: ids.map((id, i) => {
            const at = new Date(start + i * SPACING_MINUTES * 60_000);
            return {
              id: `apt-${id}`,
              patientId: id,
              providerId,
              start: at,
              end: new Date(at.getTime() + SPACING_MINUTES * 60_000),
              activeStart: at,
              reason: 'Follow-up visit',
            };
          }),
        });
      }
    },
    { timeout: 60_000 },
  );
  return true;
}

function hash(text: string): number {
  let h = 0;
  for (const c of text) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}
