/**
 * The load generator: `node load.js SPEC.json` drives one target with autocannon for the spec's
 * duration, in its own process, and prints one JSON result on stdout. Latency per operation kind
 * is taken from the moment autocannon builds a request (right before writing it to the socket)
 * to the moment it hands back the parsed response.
 */
import { readFileSync } from 'node:fs';
import { internalTokenKey, signInternalToken } from '@healthgraph/platform';
import autocannon from 'autocannon';
import {
  answered,
  type Caller,
  classifyAnswer,
  DEGRADED_CYCLE,
  EXPECTED_CODES,
  type FlowContext,
  KINDS,
  type Kind,
  Planner,
  PORTAL_CYCLE,
  type WorkloadSpec,
} from './workload.js';

export interface KindResult {
  /** Milliseconds, one per completed request. */
  latencies: number[];
  /** Failures by code: GraphQL error code, HTTP_<status>, or NO_DATA for a 200 without the answer. */
  errors: Record<string, number>;
  /** Expected business outcomes (a slot taken by someone else first). */
  expected: number;
}

export interface LoadResult {
  seconds: number;
  requests: number;
  byKind: Record<Kind, KindResult>;
  /** autocannon's own figures for the whole run, as a cross-check. */
  autocannon: {
    requestsPerSecond: number;
    latencyP50: number;
    latencyP99: number;
    non2xx: number;
    timeouts: number;
    connectionErrors: number;
  };
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as WorkloadSpec;
const planner = new Planner(spec);
const byKind = Object.fromEntries(KINDS.map((kind) => [kind, { latencies: [], errors: {}, expected: 0 }])) as unknown as Record<
  Kind,
  KindResult
>;

// Targets that do not verify client tokens get the subgraph token this gateway would have signed, renewed well within its lifetime.
const internalTokens = new Map<Caller, string>();
async function signAll(): Promise<void> {
  const key = internalTokenKey(spec.subgraphTokenSecret!);
  for (const caller of spec.callers)
    internalTokens.set(
      caller,
      await signInternalToken(key, { role: caller.role, sub: caller.sub, purpose: caller.purpose }, `bench-${process.pid}`),
    );
}
if (spec.target !== 'gateway') {
  await signAll();
  setInterval(() => void signAll(), 20_000).unref();
}
const authorization = (caller: Caller) => `Bearer ${spec.target === 'gateway' ? caller.token : internalTokens.get(caller)}`;

function step(kind: Kind) {
  return {
    method: 'POST' as const,
    setupRequest(request: Record<string, unknown>, context: FlowContext) {
      const planned = planner.plan(kind, context);
      context.kind = planned.kind;
      context.sentAt = performance.now();
      return {
        ...request,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: authorization(planned.caller) },
        body: planned.body,
      };
    },
    onResponse(status: number, body: string, context: FlowContext) {
      const kind = context.kind!;
      const result = byKind[kind];
      result.latencies.push(Math.round((performance.now() - context.sentAt!) * 100) / 100);
      const { parsed, code } = classifyAnswer(status, body, (data) => answered(kind, data));
      if (kind === 'available slots') {
        const provider = parsed?.data?.provider as { availableSlots?: { start: string }[] } | null | undefined;
        context.slots = provider?.availableSlots ?? [];
      }
      if (code === undefined) return;
      if (EXPECTED_CODES[kind]?.includes(code)) result.expected++;
      else result.errors[code] = (result.errors[code] ?? 0) + 1;
    },
  };
}

const cycle: readonly Kind[] = spec.mix === 'portal' ? PORTAL_CYCLE : spec.mix === 'degraded' ? DEGRADED_CYCLE : ['patient lookup'];
const started = performance.now();
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  pipelining: 1,
  duration: spec.durationSeconds,
  timeout: 10,
  requests: cycle.map(step),
});
const seconds = (performance.now() - started) / 1000;
const output: LoadResult = {
  seconds,
  requests: KINDS.reduce((sum, kind) => sum + byKind[kind].latencies.length, 0),
  byKind,
  autocannon: {
    requestsPerSecond: result.requests.average,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    connectionErrors: result.errors,
  },
};
process.stdout.write(JSON.stringify(output));
process.exit(0);
