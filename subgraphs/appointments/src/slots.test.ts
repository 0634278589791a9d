import type { ProviderAvailability } from '@healthgraph/db';
import { describe, expect, it } from 'vitest';
import { expandSlots } from './slots.js';

const monday = (from: number, to: number): ProviderAvailability => ({
  id: 'avl',
  providerId: 'prv-1',
  weekday: 1,
  startMinute: from,
  endMinute: to,
  slotMinutes: 30,
  validFrom: new Date('2026-01-01'),
  validTo: null,
});
const at = (iso: string) => new Date(iso);

describe('slot expansion', () => {
  it('cuts working hours into slots, only on the right weekday', () => {
    const slots = expandSlots(
      [monday(540, 660)],
      new Set(),
      at('2027-01-03T00:00:00Z'),
      at('2027-01-06T00:00:00Z'),
      at('2026-01-01T00:00:00Z'),
    );
    expect(slots.map((s) => s.start.toISOString())).toEqual([
      '2027-01-04T09:00:00.000Z',
      '2027-01-04T09:30:00.000Z',
      '2027-01-04T10:00:00.000Z',
      '2027-01-04T10:30:00.000Z',
    ]);
  });
  it('skips taken and past slots, and slots that straddle the window', () => {
    const taken = new Set([at('2027-01-04T09:30:00Z').getTime()]);
    const slots = expandSlots(
      [monday(540, 660)],
      taken,
      at('2027-01-04T09:00:00Z'),
      at('2027-01-04T10:45:00Z'),
      at('2027-01-04T09:00:00Z'),
    );
    expect(slots.map((s) => s.start.toISOString())).toEqual(['2027-01-04T10:00:00.000Z']);
  });
  it('honours the validity period', () => {
    const ended = { ...monday(540, 600), validTo: new Date('2026-12-31') };
    expect(expandSlots([ended], new Set(), at('2027-01-04T00:00:00Z'), at('2027-01-05T00:00:00Z'), at('2026-01-01T00:00:00Z'))).toEqual([]);
  });
});
