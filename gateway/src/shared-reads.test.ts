import type { FetcherResponse } from '@apollo/utils.fetcher';
import { type Principal, REFUSALS_HEADER } from '@healthgraph/platform';
import { describe, expect, it } from 'vitest';
import { SharedReads, type SubgraphAnswer } from './shared-reads.js';

const clinician: Principal = { sub: 'prv-0001', role: 'CLINICIAN', purpose: 'TREAT' };
const BODY = '{"query":"{ _entities { id } }","variables":{}}';
const PLAIN = { emergency: false, mutation: false };

/** A subgraph call that answers when told to, with the refusals header it is given (none when null). */
function pendingCall(refusals: string | null = '0', text = '{"data":{"n":1}}') {
  let calls = 0;
  let release!: () => void;
  let fail!: (error: Error) => void;
  const gate = new Promise<void>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  const call = async (): Promise<SubgraphAnswer> => {
    calls++;
    await gate;
    const headers = { get: (name: string) => (name === REFUSALS_HEADER ? refusals : null) };
    const response = { headers, text: async () => text } as unknown as FetcherResponse;
    return { response, body: JSON.parse(text) as object };
  };
  return { call, release: () => release(), fail: (error: Error) => fail(error), calls: () => calls };
}

describe('shared reads', () => {
  it('answers a read that arrived before an identical call of the same caller started, from that call, with its own copy', async () => {
    const shared = new SharedReads('records');
    const key = SharedReads.keyOf(clinician, BODY, PLAIN);
    const arrived = performance.now();
    const first = pendingCall();
    const leader = shared.read(key, arrived, first.call);
    const joiner = shared.read(key, arrived, first.call);
    first.release();
    const [a, b] = await Promise.all([leader, joiner]);
    expect(first.calls()).toBe(1);
    expect(b.body).toEqual(a.body);
    expect(b.body).not.toBe(a.body);
    expect(shared.size).toBe(0);
  });

  it('never answers a read from a call that started before the read arrived', async () => {
    const shared = new SharedReads('records');
    const key = SharedReads.keyOf(clinician, BODY, PLAIN);
    const first = pendingCall();
    const leader = shared.read(key, performance.now(), first.call);
    await new Promise((resolve) => setTimeout(resolve, 2));
    const second = pendingCall();
    const late = shared.read(key, performance.now(), second.call);
    first.release();
    second.release();
    await Promise.all([leader, late]);
    expect(first.calls()).toBe(1);
    expect(second.calls()).toBe(1);
  });

  it.each([
    ['a refusal', '1'],
    ['no refusals header (a subgraph that does not say)', null],
  ])('makes its own call when the shared answer recorded %s', async (_, refusals) => {
    const shared = new SharedReads('records');
    const key = SharedReads.keyOf(clinician, BODY, PLAIN);
    const arrived = performance.now();
    const first = pendingCall(refusals);
    const own = pendingCall('0');
    const leader = shared.read(key, arrived, first.call);
    const joiner = shared.read(key, arrived, own.call);
    first.release();
    own.release();
    await Promise.all([leader, joiner]);
    expect(own.calls()).toBe(1);
  });

  it('makes its own call when the shared answer carries errors (a field that failed for the first caller)', async () => {
    const shared = new SharedReads('records');
    const key = SharedReads.keyOf(clinician, BODY, PLAIN);
    const arrived = performance.now();
    const first = pendingCall('0', '{"data":{"n":null},"errors":[{"message":"x","extensions":{"code":"SERVICE_UNAVAILABLE"}}]}');
    const own = pendingCall();
    const leader = shared.read(key, arrived, first.call);
    const joiner = shared.read(key, arrived, own.call);
    first.release();
    own.release();
    await leader;
    await expect(joiner).resolves.toMatchObject({ body: { data: { n: 1 } } });
    expect(own.calls()).toBe(1);
  });

  it('fails its joiners at once when the shared call fails, instead of making each wait a deadline of its own', async () => {
    const shared = new SharedReads('records');
    const key = SharedReads.keyOf(clinician, BODY, PLAIN);
    const arrived = performance.now();
    const first = pendingCall();
    const own = pendingCall();
    const leader = shared.read(key, arrived, first.call);
    const joiner = shared.read(key, arrived, own.call);
    first.fail(new Error('subgraph down'));
    await expect(leader).rejects.toThrow('subgraph down');
    await expect(joiner).rejects.toThrow('subgraph down');
    expect(own.calls()).toBe(0);
    expect(shared.size).toBe(0);
  });

  it('keys by caller, role, purpose and request, and never shares break-glass, emergency or mutation requests', () => {
    const key = SharedReads.keyOf(clinician, BODY, PLAIN);
    expect(SharedReads.keyOf({ ...clinician, sub: 'prv-0002' }, BODY, PLAIN)).not.toBe(key);
    expect(SharedReads.keyOf({ ...clinician, role: 'SCHEDULER' }, BODY, PLAIN)).not.toBe(key);
    expect(SharedReads.keyOf({ ...clinician, purpose: 'HOPERAT' }, BODY, PLAIN)).not.toBe(key);
    expect(SharedReads.keyOf(clinician, `${BODY} `, PLAIN)).not.toBe(key);
    expect(SharedReads.keyOf({ ...clinician, purpose: 'BTG', breakGlassReason: 'unconscious' }, BODY, PLAIN)).toBeNull();
    expect(SharedReads.keyOf({ ...clinician, purpose: 'ETREAT' }, BODY, { emergency: true, mutation: false })).toBeNull();
    // The follow-up reads of a mutation must see its own write: none of them is shared.
    expect(SharedReads.keyOf(clinician, BODY, { emergency: false, mutation: true })).toBeNull();
  });

  it('makes every call itself without a key', async () => {
    const shared = new SharedReads('records');
    const first = pendingCall();
    const arrived = performance.now();
    const a = shared.read(null, arrived, first.call);
    const b = shared.read(null, arrived, first.call);
    first.release();
    await Promise.all([a, b]);
    expect(first.calls()).toBe(2);
  });
});
