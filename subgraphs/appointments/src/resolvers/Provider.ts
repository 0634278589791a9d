import { pageSize } from '@healthgraph/kit';
import { badUserInput } from '@healthgraph/platform';
import type { Context } from '../context.js';
import { MAX_SLOT_WINDOW_DAYS, type Slot } from '../slots.js';

const SCHEDULE_DEFAULT = 100;
const SCHEDULE_MAX = 500;

export const Provider = {
  /** A day's schedule, bounded: at most `first` appointments (default 100, at most 500). */
  schedule: ({ id }: { id: string }, { date, first }: { date: Date; first?: number | null }, { loaders }: Context) =>
    loaders.scheduleByProvider.load({
      providerId: id,
      day: date,
      size: first === null || first === undefined ? SCHEDULE_DEFAULT : pageSize(first, 'first', SCHEDULE_MAX),
    }),

  availableSlots: ({ id }: { id: string }, { from, to }: { from: Date; to: Date }, { loaders }: Context) => {
    if (to <= from) throw badUserInput('to', 'must be after from');
    if (to.getTime() - from.getTime() > MAX_SLOT_WINDOW_DAYS * 86_400_000)
      throw badUserInput('to', `must be at most ${MAX_SLOT_WINDOW_DAYS} days after from`);
    return loaders.slotsByProvider.load({ providerId: id, from, to });
  },
};

export const SlotType = {
  provider: (slot: Slot) => ({ __typename: 'Provider', id: slot.providerId }),
};
