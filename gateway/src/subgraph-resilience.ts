import { counter, gauge } from '@healthgraph/platform';

/**
 * How the gateway calls one subgraph when that subgraph is slow or failing: every call has a
 * deadline, a circuit breaker stops calling a subgraph that keeps failing (its fields come back as
 * SUBGRAPH_UNAVAILABLE at once, the rest of the answer as usual) and lets one probe through now and
 * then to find out whether it is back, and a read that failed fast may be tried once more, within a
 * retry budget, so retries cannot multiply the load on a subgraph that is already struggling.
 *
 * Written here rather than taken from a library: cockatiel's half-open state makes every other
 * call wait for the probe, so while a hung subgraph was probed every request touching it would
 * wait out the probe's deadline; here they are refused at once while one probe is out.
 */
export interface ResilienceOptions {
  /** Longest wait for one answer; 0 waits as long as it takes. */
  timeoutMs: number;
  /** Consecutive failures (errors, 5xx answers, timeouts) that open the breaker. */
  breakerFailures: number;
  /** How long the breaker stays open before it lets one probe through. */
  breakerHalfOpenMs: number;
  /** Retries allowed as a share of calls, in percent (Finagle's retry budget). */
  retryBudgetPercent: number;
  /** Retries allowed per second whatever the share, so a quiet subgraph still gets some. */
  retryMinPerSecond: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';
const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

const metrics = {
  state: gauge('healthgraph_subgraph_breaker_state', 'Circuit breaker per subgraph: 0 closed, 1 half-open (probing), 2 open', [
    'subgraph',
  ] as const),
  transitions: counter('healthgraph_subgraph_breaker_transitions_total', 'Breaker state changes, by subgraph and new state', [
    'subgraph',
    'state',
  ] as const),
  failures: counter('healthgraph_subgraph_failures_total', 'Failed subgraph calls, by subgraph and kind (error, timeout, open)', [
    'subgraph',
    'kind',
  ] as const),
  retries: counter('healthgraph_subgraph_retries_total', 'Reads tried again, by subgraph and outcome (sent, over_budget)', [
    'subgraph',
    'outcome',
  ] as const),
};

/** Thrown instead of calling a subgraph whose breaker is open. */
export class CircuitOpenError extends Error {
  constructor(readonly subgraph: string) {
    super(`the ${subgraph} service is failing; calls to it are paused`);
  }
}

/** Thrown when a subgraph did not answer within its deadline. */
export class SubgraphTimeoutError extends Error {
  constructor(
    readonly subgraph: string,
    readonly ms: number,
  ) {
    super(`the ${subgraph} service did not answer within ${ms} ms`);
  }
}

/** Opens after N consecutive failures; after a pause, one probe decides whether it closes again. */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private current: BreakerState = 'closed';

  constructor(
    readonly subgraph: string,
    private readonly threshold: number,
    private readonly halfOpenMs: number,
  ) {
    metrics.state.set({ subgraph }, 0);
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Whether a call may go now: `call`, `probe` (the one call that tests an open breaker) or `refuse`. */
  acquire(): 'call' | 'probe' | 'refuse' {
    if (this.current === 'closed') return 'call';
    if (this.probing || performance.now() - this.openedAt < this.halfOpenMs) return 'refuse';
    this.probing = true;
    this.move('half-open');
    return 'probe';
  }

  /** Only the probe closes an open breaker: a call sent before it opened proves little. */
  success(probe: boolean): void {
    this.failures = 0;
    if (!probe) return;
    this.probing = false;
    this.move('closed');
  }

  failure(probe: boolean): void {
    if (probe) this.probing = false;
    this.failures++;
    if (probe || (this.current === 'closed' && this.failures >= this.threshold)) {
      this.openedAt = performance.now();
      this.move('open');
    }
  }

  /** A call that ended without telling anything about the subgraph's health (e.g. a 4xx answer). */
  neutral(probe: boolean): void {
    if (probe) this.success(true);
  }

  private move(state: BreakerState): void {
    if (state === this.current) return;
    this.current = state;
    metrics.state.set({ subgraph: this.subgraph }, STATE_VALUE[state]);
    metrics.transitions.inc({ subgraph: this.subgraph, state });
  }
}

/** Retries may be at most `percent` of calls, plus `minPerSecond`; unspent allowance is capped. */
export class RetryBudget {
  private balance: number;
  private last = performance.now();

  constructor(
    private readonly percent: number,
    private readonly minPerSecond: number,
    private readonly cap = Math.max(10, minPerSecond * 10),
  ) {
    this.balance = minPerSecond;
  }

  /** Every call earns a share of a retry. */
  deposit(): void {
    this.balance = Math.min(this.cap, this.balance + this.percent / 100);
  }

  /** Takes one retry from the budget, if there is one. */
  withdraw(): boolean {
    const now = performance.now();
    this.balance = Math.min(this.cap, this.balance + ((now - this.last) / 1000) * this.minPerSecond);
    this.last = now;
    if (this.balance < 1) return false;
    this.balance--;
    return true;
  }
}

/** What a failed call says about the subgraph: `fault` counts against it, `neutral` does not (its answer to a bad request). */
function verdict(error: unknown): 'fault' | 'neutral' {
  const status = (error as { extensions?: { response?: { status?: number } } }).extensions?.response?.status;
  return status !== undefined && status < 500 ? 'neutral' : 'fault';
}

/** Faults a second try can cure: the connection failed or the subgraph said it is briefly unavailable; never a timeout. */
function retryable(error: unknown): boolean {
  if (error instanceof SubgraphTimeoutError || error instanceof CircuitOpenError) return false;
  const status = (error as { extensions?: { response?: { status?: number } } }).extensions?.response?.status;
  return status === undefined || status === 502 || status === 503 || status === 504;
}

/** The deadline, breaker and retry budget of one subgraph. */
export class SubgraphCalls {
  readonly breaker: CircuitBreaker;
  private readonly budget: RetryBudget;

  constructor(
    readonly subgraph: string,
    private readonly options: ResilienceOptions,
  ) {
    this.breaker = new CircuitBreaker(subgraph, options.breakerFailures, options.breakerHalfOpenMs);
    this.budget = new RetryBudget(options.retryBudgetPercent, options.retryMinPerSecond);
  }

  /**
   * Runs `call` with the subgraph's deadline (the signal aborts the HTTP request, freeing its
   * connection), through the breaker. A read that failed in a way a second try can cure is tried
   * once more if the budget allows; a write never is (a booking sent twice could book twice).
   */
  async execute<T>(read: boolean, call: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    this.budget.deposit();
    try {
      return await this.once(call);
    } catch (error) {
      if (!read || !retryable(error) || verdict(error) !== 'fault') throw error;
      if (!this.budget.withdraw()) {
        metrics.retries.inc({ subgraph: this.subgraph, outcome: 'over_budget' });
        throw error;
      }
      metrics.retries.inc({ subgraph: this.subgraph, outcome: 'sent' });
      return await this.once(call);
    }
  }

  private async once<T>(call: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    const permit = this.breaker.acquire();
    if (permit === 'refuse') {
      metrics.failures.inc({ subgraph: this.subgraph, kind: 'open' });
      throw new CircuitOpenError(this.subgraph);
    }
    const probe = permit === 'probe';
    const { timeoutMs } = this.options;
    const deadline = timeoutMs > 0 ? new AbortController() : undefined;
    const timer = deadline ? setTimeout(() => deadline.abort(new SubgraphTimeoutError(this.subgraph, timeoutMs)), timeoutMs) : undefined;
    try {
      const result = await call(deadline?.signal);
      this.breaker.success(probe);
      return result;
    } catch (error) {
      const timedOut = deadline?.signal.aborted === true;
      if (timedOut || verdict(error) === 'fault') {
        metrics.failures.inc({ subgraph: this.subgraph, kind: timedOut ? 'timeout' : 'error' });
        this.breaker.failure(probe);
      } else {
        this.breaker.neutral(probe);
      }
      throw timedOut ? deadline.signal.reason : error;
    } finally {
      clearTimeout(timer);
    }
  }
}
