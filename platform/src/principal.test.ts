import { describe, expect, it } from 'vitest';
import { principalFromClaims } from './principal.js';

describe('principal from token claims', () => {
  it('defaults the purpose from the role', () => {
    expect(principalFromClaims({ sub: 'pat-1', role: 'PATIENT' })).toEqual({ sub: 'pat-1', role: 'PATIENT', purpose: 'TREAT' });
  });
  it('refuses unknown roles and purposes', () => {
    expect(typeof principalFromClaims({ sub: 'x', role: 'ROOT' })).toBe('string');
    expect(typeof principalFromClaims({ sub: 'x', role: 'CLINICIAN', purpose: 'CURIOSITY' })).toBe('string');
  });
  it('needs a reason for break-glass, and only grants it to clinicians', () => {
    expect(typeof principalFromClaims({ sub: 'p', role: 'CLINICIAN', purpose: 'BTG' })).toBe('string');
    expect(typeof principalFromClaims({ sub: 's', role: 'SCHEDULER', purpose: 'BTG', reason: 'emergency' })).toBe('string');
    expect(principalFromClaims({ sub: 'p', role: 'CLINICIAN', purpose: 'BTG', reason: ' Trauma bay 2 ' })).toEqual({
      sub: 'p',
      role: 'CLINICIAN',
      purpose: 'BTG',
      breakGlassReason: 'Trauma bay 2',
    });
  });
});
