import { describe, expect, it } from 'vitest';
import { AdmissionControl, type Release } from './admission.js';
import { CLASS_DEFAULTS, type PriorityClass } from './priority.js';

const classes = (overrides: Partial<Record<PriorityClass, Partial<(typeof CLASS_DEFAULTS)[PriorityClass]>>> = {}) =>
  Object.fromEntries(Object.entries(CLASS_DEFAULTS).map(([c, d]) => [c, { ...d, ...overrides[c as PriorityClass] }])) as Record<
    PriorityClass,
    (typeof CLASS_DEFAULTS)[PriorityClass]
  >;

/** A controller and a way to fill it: returns [control, hold(n) -> releases]. */
function control(concurrency: number, emergencyReserve = 0, overrides = {}) {
  const admission = new AdmissionControl({ concurrency, emergencyReserve, classes: classes(overrides) });
  const hold = async (n: number, priority: PriorityClass = 'back-office') => {
    const releases: Release[] = [];
    for (let i = 0; i < n; i++) releases.push(await admission.admit(priority));
    return releases;
  };
  return [admission, hold] as const;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('admission control', () => {
  it('admits up to the limit at once and makes the next one wait', async () => {
    const [admission, hold] = control(2);
    const held = await hold(2);
    expect(admission.state.inFlight).toBe(2);
    let admitted = false;
    const waiting = admission.admit('portal').then((release) => {
      admitted = true;
      return release;
    });
    await settle();
    expect(admitted).toBe(false);
    expect(admission.state.waiting.portal).toBe(1);
    held[0]!();
    (await waiting)();
    expect(admitted).toBe(true);
    held[1]!();
    expect(admission.state.inFlight).toBe(0);
  });

  it('serves the waiting highest class first, in arrival order within a class', async () => {
    const [admission, hold] = control(1);
    const [first] = await hold(1);
    const order: string[] = [];
    const enqueue = (priority: PriorityClass, name: string) =>
      admission.admit(priority).then((release) => {
        order.push(name);
        release();
      });
    const all = [
      enqueue('back-office', 'back-office 1'),
      enqueue('portal', 'portal 1'),
      enqueue('back-office', 'back-office 2'),
      enqueue('clinical', 'clinical 1'),
      enqueue('emergency', 'emergency 1'),
      enqueue('portal', 'portal 2'),
    ];
    await settle();
    first!();
    await Promise.all(all);
    expect(order).toEqual(['emergency 1', 'clinical 1', 'portal 1', 'portal 2', 'back-office 1', 'back-office 2']);
  });

  it('lets emergency requests take reserved slots above the limit, and nobody else', async () => {
    const [admission, hold] = control(2, 1);
    await hold(2);
    const emergency = await Promise.race([admission.admit('emergency'), settle().then(() => 'waiting')]);
    expect(typeof emergency).toBe('function');
    expect(admission.state.inFlight).toBe(3);
    const clinical = admission.admit('clinical');
    await settle();
    expect(admission.state.waiting.clinical).toBe(1);
    (emergency as Release)();
    await settle();
    // The reserve freed is the emergency's alone: the clinical request still waits for a regular slot.
    expect(admission.state.waiting.clinical).toBe(1);
    clinical.catch(() => {});
  });

  it('refuses at once with OVERLOADED and Retry-After when a class queue is full', async () => {
    const [admission, hold] = control(1, 0, { 'back-office': { queue: 1, retryAfterSeconds: 5 } });
    await hold(1);
    const queued = admission.admit('back-office');
    const started = performance.now();
    const refused = await admission.admit('back-office').catch((error: unknown) => error);
    expect(performance.now() - started).toBeLessThan(20);
    expect(refused).toMatchObject({
      extensions: {
        code: 'OVERLOADED',
        retryAfter: 5,
        priorityClass: 'back-office',
        http: { status: 503, headers: { 'retry-after': '5' } },
      },
    });
    queued.catch(() => {});
  });

  it('refuses a waiting request when its class has waited its longest', async () => {
    const [admission, hold] = control(1, 0, { portal: { maxWaitMs: 50 } });
    await hold(1);
    const started = performance.now();
    const error = await admission.admit('portal').catch((e: unknown) => e);
    expect(error).toMatchObject({ extensions: { code: 'OVERLOADED' } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(admission.state.waiting.portal).toBe(0);
  });

  it('refuses the lowest class first: its expected wait counts everyone waiting above it', async () => {
    // One slot, held 100 ms on average: a back-office request behind three waiting requests would
    // wait about 400 ms, over its 300 ms bound, and is refused at once; an emergency request, with
    // the same bound, goes to the head of the line and waits.
    const admission = new AdmissionControl({
      concurrency: 1,
      emergencyReserve: 0,
      initialHoldMs: 100,
      classes: classes({ 'back-office': { maxWaitMs: 300 }, emergency: { maxWaitMs: 300 } }),
    });
    const blocker = await admission.admit('clinical');
    const waiting = [admission.admit('clinical'), admission.admit('clinical'), admission.admit('portal')];
    const started = performance.now();
    const backOffice = await admission.admit('back-office').catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(20);
    expect(backOffice).toMatchObject({ extensions: { code: 'OVERLOADED', priorityClass: 'back-office' } });
    const emergency = admission.admit('emergency');
    await settle();
    expect(admission.state.waiting).toEqual({ emergency: 1, clinical: 2, portal: 1, 'back-office': 0 });
    blocker();
    (await emergency)();
    for (const w of waiting) (await w)();
    expect(admission.state.inFlight).toBe(0);
  });

  it('after a request waited its longest in vain, refuses its class and those below at once for as long, and no class above', async () => {
    const [admission, hold] = control(1, 0, { portal: { maxWaitMs: 60 } });
    const [held] = await hold(1);
    await expect(admission.admit('portal')).rejects.toMatchObject({ extensions: { code: 'OVERLOADED' } });
    for (const priority of ['portal', 'back-office'] as const) {
      const started = performance.now();
      await expect(admission.admit(priority)).rejects.toMatchObject({ extensions: { code: 'OVERLOADED', priorityClass: priority } });
      expect(performance.now() - started).toBeLessThan(20);
    }
    const clinical = admission.admit('clinical');
    await settle();
    expect(admission.state.waiting.clinical).toBe(1);
    held!();
    (await clinical)();
    // Once the pause is over, portal requests wait for a slot again.
    await new Promise((resolve) => setTimeout(resolve, 70));
    const [again] = await hold(1);
    const portal = admission.admit('portal');
    await settle();
    expect(admission.state.waiting.portal).toBe(1);
    again!();
    (await portal)();
  });

  it('never refuses an emergency request for an earlier one that waited in vain', async () => {
    const [admission, hold] = control(1, 0, { emergency: { maxWaitMs: 40 } });
    const [held] = await hold(1);
    await expect(admission.admit('emergency')).rejects.toMatchObject({ extensions: { code: 'OVERLOADED' } });
    const next = admission.admit('emergency');
    await settle();
    expect(admission.state.waiting.emergency).toBe(1);
    held!();
    (await next)();
  });

  it('takes a request whose caller hung up out of the queue', async () => {
    const [admission, hold] = control(1);
    const [held] = await hold(1);
    const hangUp = new AbortController();
    const waiting = admission.admit('portal', hangUp.signal);
    await settle();
    expect(admission.state.waiting.portal).toBe(1);
    hangUp.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(admission.state.waiting.portal).toBe(0);
    held!();
    expect(admission.state.inFlight).toBe(0);
  });

  it('gives a slot back once however often release is called', async () => {
    const [admission, hold] = control(2);
    const [a] = await hold(2);
    a!();
    a!();
    expect(admission.state.inFlight).toBe(1);
  });
});
