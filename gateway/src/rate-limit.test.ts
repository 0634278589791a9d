import type { Principal } from '@healthgraph/platform';
import { describe, expect, it } from 'vitest';
import { RateLimits } from './rate-limit.js';

const limits = (overrides: Partial<ConstructorParameters<typeof RateLimits>[0]> = {}) =>
  new RateLimits({
    windowSeconds: 60,
    perSub: { emergency: 2, clinical: 3, portal: 2, 'back-office': 2 },
    perRole: { PATIENT: 0, CLINICIAN: 4, SCHEDULER: 0, BILLING: 0, ADMIN: 0, AUDITOR: 0 },
    breakGlassFloor: 5,
    prefix: 'unit',
    ...overrides,
  });
const clinician = (sub: string): Principal => ({ sub, role: 'CLINICIAN', purpose: 'TREAT' });
const breakGlass = (sub: string): Principal => ({ sub, role: 'CLINICIAN', purpose: 'BTG', breakGlassReason: 'Unconscious' });

/** How many of `n` checks pass before the first refusal, and that refusal. */
async function passes(check: () => Promise<void>, n: number): Promise<[number, unknown]> {
  for (let i = 0; i < n; i++) {
    try {
      await check();
    } catch (error) {
      return [i, error];
    }
  }
  return [n, undefined];
}

describe('rate limits (one process, no Redis)', () => {
  it('refuses a caller over its class limit with RATE_LIMITED, 429 and Retry-After', async () => {
    const rl = limits();
    const [passed, error] = await passes(() => rl.check({ sub: 'pat-1', role: 'PATIENT', purpose: 'TREAT' }, 'portal'), 10);
    expect(passed).toBe(2);
    expect(error).toMatchObject({
      extensions: { code: 'RATE_LIMITED', limit: 'sub', retryAfter: expect.any(Number), http: { status: 429 } },
    });
    const seconds = (error as { extensions: { retryAfter: number } }).extensions.retryAfter;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(60);
    expect((error as { extensions: { http: { headers: Record<string, string> } } }).extensions.http.headers['retry-after']).toBe(
      String(seconds),
    );
    // Another caller of the same class has a limit of its own.
    await expect(rl.check({ sub: 'pat-2', role: 'PATIENT', purpose: 'TREAT' }, 'portal')).resolves.toBeUndefined();
  });

  it('counts all callers of a role together against the role limit', async () => {
    const rl = limits();
    for (const sub of ['a', 'b', 'c', 'd']) await rl.check(clinician(sub), 'clinical');
    await expect(rl.check(clinician('e'), 'clinical')).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED', limit: 'role' } });
  });

  it('never limits break-glass below the floor, and not by its role', async () => {
    const rl = limits();
    for (const sub of ['a', 'b', 'c', 'd']) await rl.check(clinician(sub), 'clinical'); // the clinicians' role limit is spent
    const [passed] = await passes(() => rl.check(breakGlass('prv-9'), 'emergency'), 20);
    expect(passed).toBe(5); // the floor, above the emergency class's own limit of 2
  });
});
