import type { Principal } from '@healthgraph/platform';
import { describe, expect, it } from 'vitest';
import { CLINICAL_KINDS, policyFor } from './policy.js';

const row = (sensitivity: 'NONE' | 'PSY' | 'ETH', confidentiality: 'N' | 'R' | 'V' = 'N') => ({ sensitivity, confidentiality });
const as = (role: Principal['role'], purpose: Principal['purpose'], extra: Partial<Principal> = {}) =>
  policyFor({ sub: 'sub-1', role, purpose, ...extra });
const kinds = (policy: ReturnType<typeof policyFor>) => CLINICAL_KINDS.filter((kind) => policy.mayRead(kind));
const breakGlass = as('CLINICIAN', 'BTG', { breakGlassReason: 'Trauma bay 2' });

describe('the policy', () => {
  it('scopes each role to its patients', () => {
    expect(as('PATIENT', 'TREAT').patientsWhere()).toEqual({ id: 'sub-1' });
    expect(as('CLINICIAN', 'TREAT').patientsWhere()).toMatchObject({ careTeam: { some: { providerId: 'sub-1' } } });
    expect(as('SCHEDULER', 'HOPERAT').patientsWhere()).toEqual({});
    expect(as('ADMIN', 'HOPERAT').patientsWhere()).toBeNull();
    expect(as('AUDITOR', 'HOPERAT').patientsWhere()).toBeNull();
  });

  it('derives the kinds of clinical record from the scopes, so a purpose narrows them as it narrows fields', () => {
    expect(kinds(as('CLINICIAN', 'TREAT'))).toEqual(CLINICAL_KINDS);
    expect(kinds(as('BILLING', 'HPAYMT'))).toEqual([]);
    expect(kinds(as('SCHEDULER', 'HOPERAT'))).toEqual([]);
    expect(kinds(as('CLINICIAN', 'HPAYMT'))).toEqual([]); // a clinician doing billing gets what billing gets
    expect(kinds(breakGlass)).toEqual(['allergies', 'medications', 'conditions']);
  });

  it('gives break-glass any patient, emergency data only, no scheduling and nothing for the shared cache, and only with a reason', () => {
    expect(breakGlass.reach).toBe('all');
    expect(breakGlass.mayWriteAppointments).toBe(false);
    expect(breakGlass.shareable).toBe(false);
    expect(breakGlass.search).toMatchObject({ maxResults: 5, paging: false, criteria: 'identifying' });
    expect(as('CLINICIAN', 'BTG').reach).toBe('careTeam');
  });

  it('lets only holders of appointments:write book, whatever their role', () => {
    expect(as('SCHEDULER', 'HOPERAT').mayWriteAppointments).toBe(true);
    expect(as('CLINICIAN', 'TREAT').mayWriteAppointments).toBe(true);
    expect(as('CLINICIAN', 'HPAYMT').mayWriteAppointments).toBe(false);
    expect(as('BILLING', 'HPAYMT').mayWriteAppointments).toBe(false);
  });

  it('hides labelled and restricted rows from a clinician without consent', () => {
    const clinician = as('CLINICIAN', 'TREAT');
    expect(clinician.rowVisible(row('NONE'), new Set())).toBe(true);
    expect(clinician.rowVisible(row('PSY', 'R'), new Set())).toBe(false);
    expect(clinician.rowVisible(row('PSY', 'R'), new Set(['PSY']))).toBe(true);
    expect(clinician.rowVisible(row('ETH', 'R'), new Set(['PSY']))).toBe(false);
    expect(clinician.rowVisible(row('NONE', 'V'), new Set(['PSY']))).toBe(false);
    expect(clinician.rowVisible(row('NONE', 'R'), new Set(['PSY']))).toBe(false);
    expect(clinician.rowVisible(row('PSY', 'V'), new Set(['PSY']))).toBe(true);
    expect(breakGlass.rowVisible(row('NONE', 'R'), new Set())).toBe(true);
    expect(as('PATIENT', 'TREAT').rowVisible(row('ETH', 'V'), new Set())).toBe(true);
  });

  it('grants a booked provider the visit, a week to prepare and a month to follow up, and books within a year', () => {
    const now = new Date('2027-01-01T00:00:00Z');
    const visit = { start: new Date('2027-03-01T09:00:00Z'), end: new Date('2027-03-01T09:30:00Z') };
    expect(as('SCHEDULER', 'HOPERAT').bookingGrant(visit, now)).toEqual({
      periodStart: new Date('2027-02-22T09:00:00Z'),
      periodEnd: new Date('2027-03-31T09:30:00Z'),
    });
    const soon = { start: new Date('2027-01-02T09:00:00Z'), end: new Date('2027-01-02T09:30:00Z') };
    expect(as('SCHEDULER', 'HOPERAT').bookingGrant(soon, now).periodStart).toEqual(now);
    expect(as('SCHEDULER', 'HOPERAT').bookable(new Date('2199-01-01T00:00:00Z'), now)).toBe(false);
    expect(as('SCHEDULER', 'HOPERAT').bookable(new Date('2026-12-31T00:00:00Z'), now)).toBe(false);
    expect(as('SCHEDULER', 'HOPERAT').bookable(visit.start, now)).toBe(true);
  });
});
