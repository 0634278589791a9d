import { describe, expect, it } from 'vitest';
import { satisfies, scopesFor } from './scopes.js';

describe('scopes from role and purpose', () => {
  it('gives a treating clinician clinical data and a paying clerk none', () => {
    expect(scopesFor({ role: 'CLINICIAN', purpose: 'TREAT' })).toContain('clinical:full');
    expect([...scopesFor({ role: 'BILLING', purpose: 'HPAYMT' })].sort()).toEqual([
      'appointments:read',
      'patient:contact',
      'patient:demographics',
    ]);
  });
  it('narrows a role by its purpose: a clinician doing payment work sees what billing sees', () => {
    expect(scopesFor({ role: 'CLINICIAN', purpose: 'HPAYMT' })).toEqual(scopesFor({ role: 'BILLING', purpose: 'HPAYMT' }));
  });
  it('limits break-glass to identity and emergency data', () => {
    expect([...scopesFor({ role: 'CLINICIAN', purpose: 'BTG' })].sort()).toEqual(['clinical:emergency', 'patient:demographics']);
  });
  it('gives administrators nothing and auditors only the trail', () => {
    expect(scopesFor({ role: 'ADMIN', purpose: 'HOPERAT' }).size).toBe(0);
    expect([...scopesFor({ role: 'AUDITOR', purpose: 'HOPERAT' })]).toEqual(['audit:read']);
  });
  it('reads scope groups as any-of all-of', () => {
    expect(satisfies(new Set(['b']), [['a'], ['b', 'c']])).toBe(false);
    expect(satisfies(new Set(['b', 'c']), [['a'], ['b', 'c']])).toBe(true);
  });
});
