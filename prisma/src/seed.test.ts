import { describe, expect, it } from 'vitest';
import { generateSeed, SEEDED } from './seed.js';

describe('the seed generator', () => {
  it('gives the same rows and ids for the same seed', () => {
    expect(generateSeed({ patients: 50, seed: 7 })).toEqual(generateSeed({ patients: 50, seed: 7 }));
  });

  it('gives different rows for another seed', () => {
    expect(generateSeed({ patients: 50, seed: 7 }).patient).not.toEqual(generateSeed({ patients: 50, seed: 8 }).patient);
  });

  it('scales to the default size with labelled rows and consents', () => {
    const rows = generateSeed({ patients: 2000 });
    expect(rows.patient).toHaveLength(2000);
    expect(rows.provider).toHaveLength(150);
    expect(rows.appointment).toHaveLength(20000);
    const clinical = rows.allergy.length + rows.medication.length + rows.condition.length + rows.observation.length + rows.note.length;
    expect(clinical).toBeGreaterThan(20000);
    const labelled = rows.condition.filter((c) => c.sensitivity !== 'NONE').length;
    expect(labelled / rows.patient.length).toBeGreaterThan(0.05);
    expect(rows.consent.length).toBeGreaterThan(0);
  });

  it('never puts two live appointments in one provider slot', () => {
    const live = generateSeed({ patients: 500 }).appointment.filter((a) => a.activeStart !== null);
    const slots = new Set(live.map((a) => `${a.providerId}@${(a.activeStart as Date).getTime()}`));
    expect(slots.size).toBe(live.length);
  });

  it('keeps the documented ids meaningful at any size', () => {
    const rows = generateSeed({ patients: 10 });
    const team = (id: string) => rows.careTeam.filter((m) => m.patientId === id).map((m) => m.providerId);
    expect(team(SEEDED.patient)).toContain(SEEDED.clinician);
    expect(team(SEEDED.psyPatient)).toContain(SEEDED.clinician);
    expect(team(SEEDED.patient)).not.toContain(SEEDED.otherClinician);
    expect(rows.condition.some((c) => c.patientId === SEEDED.psyPatient && c.sensitivity === 'PSY')).toBe(true);
    expect(rows.consent.some((c) => c.patientId === SEEDED.psyPatient)).toBe(false);
  });
});
