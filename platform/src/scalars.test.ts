import { describe, expect, it } from 'vitest';
import { DateScalar, DateTimeScalar } from './scalars.js';

describe('Date and DateTime scalars', () => {
  it('accept real dates and instants', () => {
    expect(DateScalar.parseValue('2024-02-29')).toEqual(new Date('2024-02-29T00:00:00Z'));
    expect(DateScalar.parseValue('0001-01-01').getUTCFullYear()).toBe(1);
    expect(DateTimeScalar.parseValue('2026-11-23T09:30:00+01:00')).toEqual(new Date('2026-11-23T08:30:00Z'));
    expect(DateTimeScalar.serialize(new Date('2026-11-23T08:30:00Z'))).toBe('2026-11-23T08:30:00.000Z');
  });
  it.each(['2023-02-29', '2024-13-01', '24-01-01', '2024-01-01T00:00:00Z', 20240101, '0000-01-01'])('refuse %s as a Date', (value) => {
    expect(() => DateScalar.parseValue(value)).toThrow(/Date/);
  });
  it.each(['2026-11-23', '2026-11-23T09:30:00', 'yesterday', '2026-11-23T25:00:00Z', '0000-06-01T00:00:00Z', '0001-01-01T00:30:00+01:00'])(
    'refuse %s as a DateTime (a zone is required)',
    (value) => {
      expect(() => DateTimeScalar.parseValue(value)).toThrow(/DateTime/);
    },
  );
});
