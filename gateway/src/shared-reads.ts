import type { FetcherResponse } from '@apollo/utils.fetcher';
import { counter, type Principal, REFUSALS_HEADER } from '@healthgraph/platform';

const metrics = {
  shared: counter(
    'healthgraph_subgraph_shared_reads_total',
    "Subgraph reads that found the same caller's identical read in flight, by subgraph and outcome: joined (answered by it) or refetched (its answer recorded a refusal or carried errors, so this read made its own call)",
    ['subgraph', 'outcome'] as const,
  ),
};

/** A subgraph's answer: the HTTP response and its body, parsed for the request that made the call. */
export interface SubgraphAnswer {
  response: FetcherResponse;
  body: object;
}

interface InFlight {
  /** When the call started (performance.now()). */
  startedAt: number;
  answer: Promise<SubgraphAnswer>;
}

/**
 * Identical subgraph reads of one caller, in flight at the same time, share one subgraph call: a
 * clinician's portal that asks for the same panel twice at once costs the subgraph one answer.
 * Hive Gateway and Apollo Router merge identical fetches too; here a merge is bounded by what the
 * subgraphs' policy and audit trail need:
 *
 * - **Only the same caller.** The key is the verified principal (subject, role, purpose) with the
 *   subgraph request's body, so an answer only ever goes to a caller the subgraph would have given
 *   exactly that answer. Break-glass and every emergency-class request are never merged: each one
 *   makes its own call, on its own connections.
 * - **Only the reads of a read.** Every subgraph call of a request that carries a mutation is its
 *   own, its follow-up reads included: they must see the write the request itself just made.
 * - **Only while the subgraph is healthy.** With its breaker open or probing, every read goes to
 *   the breaker itself and is refused at once, not held behind the probe.
 * - **Never an older answer.** A read joins a call only if that call started after the read's
 *   request reached the gateway. Whatever was committed before the request arrived (a revoked
 *   consent, a booking, a write answered through any replica) is in the shared answer, exactly as
 *   in its own: the caches' "the next request sees the write" holds unchanged.
 * - **Never another request's refusals.** The subgraph records the refusals it makes under the
 *   request's id and says how many in its answer (REFUSALS_HEADER). A read joins only an answer that
 *   says 0 and carries no errors; otherwise (or without the header) it makes its own call, so its
 *   refusals are recorded under its own id and a field that failed for the first is tried again for
 *   it. Disclosures are recorded by the gateway from each request's own final answer
 *   (plugins/audit.ts), so every request's are its own.
 * - **A failed call fails its joiners at once** (a timeout, an HTTP error, the breaker): calling
 *   again would make each joiner wait a second deadline, on a subgraph that just failed.
 *
 * Each joiner parses the answer's text again for itself: no object is shared between two requests' results.
 */
export class SharedReads {
  private readonly inFlight = new Map<string, InFlight>();

  constructor(private readonly subgraph: string) {}

  /**
   * The sharing key of a subgraph read by this caller, or null when it must make its own call: in
   * an emergency-class request or one that carries a mutation, and for break-glass.
   */
  static keyOf(principal: Principal, body: string, request: { emergency: boolean; mutation: boolean }): string | null {
    if (request.emergency || request.mutation || principal.purpose === 'BTG' || principal.breakGlassReason !== undefined) return null;
    return `${principal.sub}\u0000${principal.role}\u0000${principal.purpose}\u0000${body}`;
  }

  /** Reads through `call`, or through an identical call of the same caller that started after `receivedAt`. */
  async read(key: string | null, receivedAt: number, call: () => Promise<SubgraphAnswer>): Promise<SubgraphAnswer> {
    if (key === null) return call();
    const current = this.inFlight.get(key);
    if (current && current.startedAt >= receivedAt) {
      const shared = await current.answer;
      const errors = (shared.body as { errors?: unknown }).errors;
      if (shared.response.headers.get(REFUSALS_HEADER) === '0' && !(Array.isArray(errors) && errors.length > 0)) {
        metrics.shared.inc({ subgraph: this.subgraph, outcome: 'joined' });
        return { response: shared.response, body: JSON.parse(await shared.response.text()) as object };
      }
      metrics.shared.inc({ subgraph: this.subgraph, outcome: 'refetched' });
      return call();
    }
    const entry: InFlight = { startedAt: performance.now(), answer: call() };
    this.inFlight.set(key, entry);
    try {
      return await entry.answer;
    } finally {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    }
  }

  /** Calls in flight that a read could join (for tests). */
  get size(): number {
    return this.inFlight.size;
  }
}
