import type { PrismaClient, ProviderAvailability } from '@healthgraph/db';

const DAY = 86_400_000;
const MINUTE = 60_000;
/** Longest window availableSlots will expand, so one request cannot ask for years of slots. */
export const MAX_SLOT_WINDOW_DAYS = 31;

export interface Slot {
  providerId: string;
  start: Date;
  end: Date;
}

/** Expands weekly availability into concrete slots in [from, to) (UTC), skipping taken and past ones. */
export function expandSlots(
  availability: readonly ProviderAvailability[],
  taken: ReadonlySet<number>,
  from: Date,
  to: Date,
  now: Date,
): Slot[] {
  const slots: Slot[] = [];
  const firstDay = Math.floor(from.getTime() / DAY) * DAY;
  for (let day = firstDay; day < to.getTime(); day += DAY) {
    const weekday = new Date(day).getUTCDay();
    for (const a of availability) {
      if (a.weekday !== weekday || a.validFrom.getTime() > day || (a.validTo && a.validTo.getTime() < day)) continue;
      for (let minute = a.startMinute; minute + a.slotMinutes <= a.endMinute; minute += a.slotMinutes) {
        const start = day + minute * MINUTE;
        const end = start + a.slotMinutes * MINUTE;
        if (start < from.getTime() || end > to.getTime() || start <= now.getTime() || taken.has(start)) continue;
        slots.push({ providerId: a.providerId, start: new Date(start), end: new Date(end) });
      }
    }
  }
  return slots.sort((x, y) => x.start.getTime() - y.start.getTime());
}

/** The slot that starts exactly at `start` in the provider's availability, ignoring whether it is taken. */
export async function findSlot(prisma: Pick<PrismaClient, 'providerAvailability'>, providerId: string, start: Date): Promise<Slot | null> {
  const day = Math.floor(start.getTime() / DAY) * DAY;
  const availability = await prisma.providerAvailability.findMany({ where: { providerId, weekday: new Date(day).getUTCDay() } });
  return (
    expandSlots(availability, new Set(), new Date(day), new Date(day + DAY), new Date(0)).find(
      (s) => s.start.getTime() === start.getTime(),
    ) ?? null
  );
}
