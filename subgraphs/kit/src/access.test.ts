import { describe, expect, it } from 'vitest';
import { accessFor, BREAK_GLASS_POLICY, clinicalRowVisible, ROW_POLICY, visiblePatientsWhere } from './access.js';

const row = (sensitivity: 'NONE' | 'PSY' | 'ETH', confidentiality: 'N' | 'R' | 'V' = 'N') => ({ sensitivity, confidentiality });

describe('the row policy', () => {
  it('scopes each role to its patients', () => {
    expect(visiblePatientsWhere({ sub: 'pat-1', role: 'PATIENT', purpose: 'TREAT' })).toEqual({ id: 'pat-1' });
    expect(visiblePatientsWhere({ sub: 'prv-1', role: 'CLINICIAN', purpose: 'TREAT' })).toMatchObject({
      careTeam: { some: { providerId: 'prv-1' } },
    });
    expect(visiblePatientsWhere({ sub: 's', role: 'SCHEDULER', purpose: 'HOPERAT' })).toEqual({});
    expect(visiblePatientsWhere({ sub: 'a', role: 'ADMIN', purpose: 'HOPERAT' })).toBeNull();
    expect(visiblePatientsWhere({ sub: 'a', role: 'AUDITOR', purpose: 'HOPERAT' })).toBeNull();
  });
  it('gives billing and scheduling no clinical data', () => {
    expect(ROW_POLICY.BILLING.clinical.size).toBe(0);
    expect(ROW_POLICY.SCHEDULER.clinical.size).toBe(0);
  });
  it('gives break-glass emergency data only, and only with a reason', () => {
    expect(accessFor({ sub: 'p', role: 'CLINICIAN', purpose: 'BTG', breakGlassReason: 'Trauma' })).toBe(BREAK_GLASS_POLICY);
    expect(accessFor({ sub: 'p', role: 'CLINICIAN', purpose: 'BTG' })).toBe(ROW_POLICY.CLINICIAN);
    expect([...BREAK_GLASS_POLICY.clinical].sort()).toEqual(['allergies', 'conditions', 'medications']);
  });
  it('hides labelled and restricted rows from a clinician without consent', () => {
    const clinician = ROW_POLICY.CLINICIAN;
    expect(clinicalRowVisible(row('NONE'), clinician, new Set())).toBe(true);
    expect(clinicalRowVisible(row('PSY', 'R'), clinician, new Set())).toBe(false);
    expect(clinicalRowVisible(row('PSY', 'R'), clinician, new Set(['PSY']))).toBe(true);
    expect(clinicalRowVisible(row('ETH', 'R'), clinician, new Set(['PSY']))).toBe(false);
    expect(clinicalRowVisible(row('NONE', 'V'), clinician, new Set(['PSY']))).toBe(false);
    expect(clinicalRowVisible(row('NONE', 'R'), clinician, new Set(['PSY']))).toBe(false);
    expect(clinicalRowVisible(row('PSY', 'V'), clinician, new Set(['PSY']))).toBe(true);
    expect(clinicalRowVisible(row('NONE', 'R'), BREAK_GLASS_POLICY, new Set())).toBe(true);
    expect(clinicalRowVisible(row('ETH', 'V'), ROW_POLICY.PATIENT, new Set())).toBe(true);
  });
});
