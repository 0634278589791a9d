import { ConfigError } from '@healthgraph/platform';
import { describe, expect, it } from 'vitest';
import { classify, DEFAULT_PRIORITY_RULES, parsePriorityRules } from './priority.js';

describe('priority classes', () => {
  it.each([
    ['CLINICIAN', 'BTG', 'emergency'],
    ['CLINICIAN', 'ETREAT', 'emergency'],
    ['CLINICIAN', 'TREAT', 'clinical'],
    ['CLINICIAN', 'HPAYMT', 'back-office'],
    ['PATIENT', 'TREAT', 'portal'],
    ['SCHEDULER', 'HOPERAT', 'portal'],
    ['BILLING', 'HPAYMT', 'back-office'],
    ['ADMIN', 'HOPERAT', 'back-office'],
    ['AUDITOR', 'HOPERAT', 'back-office'],
  ] as const)('puts %s with purpose %s in %s', (role, purpose, expected) => {
    expect(classify(DEFAULT_PRIORITY_RULES, { role, purpose })).toBe(expected);
  });

  it('reads a table from PRIORITY_RULES, matched in written order', () => {
    const rules = parsePriorityRules('emergency=*:BTG; clinical=CLINICIAN:TREAT,CLINICIAN:HPAYMT ; portal=BILLING');
    expect(rules).toEqual([
      { class: 'emergency', role: '*', purpose: 'BTG' },
      { class: 'clinical', role: 'CLINICIAN', purpose: 'TREAT' },
      { class: 'clinical', role: 'CLINICIAN', purpose: 'HPAYMT' },
      { class: 'portal', role: 'BILLING', purpose: '*' },
    ]);
    expect(classify(rules, { role: 'BILLING', purpose: 'HPAYMT' })).toBe('portal');
    expect(classify(rules, { role: 'CLINICIAN', purpose: 'ETREAT' })).toBe('back-office');
  });

  it.each(['urgent=*:BTG', 'clinical=NURSE:TREAT', 'clinical=CLINICIAN:CARE', 'clinical=CLINICIAN=TREAT'])(
    'refuses to start on a table it cannot read: %s',
    (text) => {
      expect(() => parsePriorityRules(text)).toThrow(ConfigError);
    },
  );
});
