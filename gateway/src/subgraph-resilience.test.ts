import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CircuitOpenError, RetryBudget, SubgraphCalls, SubgraphTimeoutError } from './subgraph-resilience.js';

const options = { timeoutMs: 50, breakerFailures: 3, breakerHalfOpenMs: 60, retryBudgetPercent: 10, retryMinPerSecond: 0 };
const down = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const httpError = (status: number) => new GraphQLError(`${status}`, { extensions: { response: { status } } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A call that fails with `error` (or succeeds with 'ok' when it is undefined), counting its runs. */
function callWith(outcome: () => Error | undefined): [(signal: AbortSignal | undefined) => Promise<string>, () => number] {
  let runs = 0;
  const call = async () => {
    runs++;
    const error = outcome();
    if (error) throw error;
    return 'ok';
  };
  return [call, () => runs];
}

describe('subgraph calls', () => {
  it('opens the breaker after consecutive failures and then refuses without calling', async () => {
    const calls = new SubgraphCalls('records', { ...options, retryMinPerSecond: 0, retryBudgetPercent: 0 });
    const [call, runs] = callWith(down);
    for (let i = 0; i < 3; i++) await expect(calls.execute(true, call)).rejects.toThrow('ECONNREFUSED');
    expect(calls.breaker.state).toBe('open');
    // Refused without calling: the call count, not the time it took (a loaded machine makes any time bound flaky).
    await expect(calls.execute(true, call)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(runs()).toBe(3);
  });

  it('lets one probe through after the pause, refusing the others meanwhile, and closes when it succeeds', async () => {
    const calls = new SubgraphCalls('records', { ...options, retryBudgetPercent: 0 });
    let healthy = false;
    const [call, runs] = callWith(() => (healthy ? undefined : down()));
    for (let i = 0; i < 3; i++) await calls.execute(true, call).catch(() => {});
    await sleep(70);
    healthy = true;
    let release!: () => void;
    const slowProbe = calls.execute(true, () => new Promise<string>((resolve) => (release = () => resolve('probed'))));
    expect(calls.breaker.state).toBe('half-open');
    await expect(calls.execute(true, call)).rejects.toBeInstanceOf(CircuitOpenError);
    release();
    await expect(slowProbe).resolves.toBe('probed');
    expect(calls.breaker.state).toBe('closed');
    await expect(calls.execute(true, call)).resolves.toBe('ok');
    expect(runs()).toBe(4);
  });

  it('opens again at once when the probe fails', async () => {
    const calls = new SubgraphCalls('records', { ...options, retryBudgetPercent: 0 });
    const [call] = callWith(down);
    for (let i = 0; i < 3; i++) await calls.execute(true, call).catch(() => {});
    await sleep(70);
    await expect(calls.execute(true, call)).rejects.toThrow('ECONNREFUSED');
    expect(calls.breaker.state).toBe('open');
    await expect(calls.execute(true, call)).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('aborts a call at its deadline and counts it as a failure', async () => {
    const calls = new SubgraphCalls('records', options);
    let aborted = false;
    const started = performance.now();
    const error = await calls
      .execute(
        true,
        (signal) =>
          new Promise<string>((_, reject) =>
            signal?.addEventListener('abort', () => {
              aborted = true;
              reject(signal.reason);
            }),
          ),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubgraphTimeoutError);
    expect(aborted).toBe(true);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('does not count an answer to a bad request against the subgraph', async () => {
    const calls = new SubgraphCalls('records', options);
    const [call] = callWith(() => httpError(400));
    for (let i = 0; i < 5; i++) await calls.execute(true, call).catch(() => {});
    expect(calls.breaker.state).toBe('closed');
  });

  it('tries a read once more after a fast failure, and never a write', async () => {
    const calls = new SubgraphCalls('appointments', { ...options, breakerFailures: 100, retryMinPerSecond: 100 });
    let failNext = true;
    const [read, readRuns] = callWith(() => {
      if (!failNext) return undefined;
      failNext = false;
      return down();
    });
    await expect(calls.execute(true, read)).resolves.toBe('ok');
    expect(readRuns()).toBe(2);
    const [write, writeRuns] = callWith(down);
    await expect(calls.execute(false, write)).rejects.toThrow('ECONNREFUSED');
    expect(writeRuns()).toBe(1);
    const [slow, slowRuns] = callWith(() => new SubgraphTimeoutError('appointments', 50));
    await expect(calls.execute(true, slow)).rejects.toBeInstanceOf(SubgraphTimeoutError);
    expect(slowRuns()).toBe(1);
  });

  it('keeps retries within the budget', () => {
    const budget = new RetryBudget(10, 0);
    let granted = 0;
    for (let i = 0; i < 100; i++) {
      budget.deposit();
      if (budget.withdraw()) granted++;
    }
    expect(granted).toBeGreaterThanOrEqual(9);
    expect(granted).toBeLessThanOrEqual(10);
  });
});
