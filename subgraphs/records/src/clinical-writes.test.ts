import { describe, expect, it } from 'vitest';
import { isSnomedConceptId } from './clinical-writes.js';

describe('SNOMED CT concept ids', () => {
  const real = ['91936005', '22298006', '38341003', '73211009', '195967001', '421581006'];

  it('accepts real concept ids', () => {
    for (const id of real) expect(isSnomedConceptId(id), id).toBe(true);
  });

  it('refuses every single-digit error and every swap of neighbouring digits (what the Verhoeff check exists to catch)', () => {
    for (const id of real) {
      for (let i = 0; i < id.length; i++) {
        for (let d = 0; d <= 9; d++) {
          const typo = `${id.slice(0, i)}${d}${id.slice(i + 1)}`;
          if (typo !== id) expect(isSnomedConceptId(typo), typo).toBe(false);
        }
        const swapped = `${id.slice(0, i)}${id[i + 1] ?? ''}${id[i]}${id.slice(i + 2)}`;
        if (i + 1 < id.length && swapped !== id) expect(isSnomedConceptId(swapped), swapped).toBe(false);
      }
    }
  });

  it('refuses leading zeros, description and relationship ids, and anything not 6 to 18 digits', () => {
    expect(isSnomedConceptId('091936005')).toBe(false);
    expect(isSnomedConceptId('12345')).toBe(false);
    expect(isSnomedConceptId('penicillin')).toBe(false);
    expect(isSnomedConceptId('1234567890123456789')).toBe(false);
    expect(isSnomedConceptId('91936015')).toBe(false); // partition 01: a description id
  });
});
