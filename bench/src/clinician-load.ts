/**
 * The clinician mix's load generator: `node clinician-load.js SPEC.json` drives one target with
 * autocannon for the spec's duration, in its own process, and prints one JSON result on stdout,
 * shaped as load.ts's (latency per kind from the moment a request is built to its parsed answer).
 */
import { readFileSync } from 'node:fs';
import { internalTokenKey, signInternalToken } from '@healthgraph/platform';
import autocannon from 'autocannon';
import {
  CLINICIAN_CYCLE,
  CLINICIAN_KINDS,
  type ClinicianKind,
  ClinicianPlanner,
  type ClinicianSpec,
  clinicianAnswered,
} from './clinician-workload.js';
import type { KindResult } from './load.js';
import { type Caller, classifyAnswer } from './workload.js';

export interface ClinicianLoadResult {
  seconds: number;
  requests: number;
  byKind: Record<ClinicianKind, KindResult>;
  autocannon: { requestsPerSecond: number; non2xx: number; timeouts: number; connectionErrors: number };
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ClinicianSpec;
const planner = new ClinicianPlanner(spec);
const byKind = Object.fromEntries(CLINICIAN_KINDS.map((kind) => [kind, { latencies: [], errors: {}, expected: 0 }])) as unknown as Record<
  ClinicianKind,
  KindResult
>;

// Targets that do not verify client tokens get the subgraph token this gateway would have signed, renewed well within its lifetime.
const internalTokens = new Map<Caller, string>();
async function signAll(): Promise<void> {
  const key = internalTokenKey(spec.subgraphTokenSecret!);
  for (const caller of [...spec.callers, ...spec.breakGlass])
    internalTokens.set(
      caller,
      await signInternalToken(
        key,
        { role: caller.role, sub: caller.sub, purpose: caller.purpose, ...(caller.reason ? { breakGlassReason: caller.reason } : {}) },
        `bench-${process.pid}`,
      ),
    );
}
if (spec.target !== 'gateway') {
  await signAll();
  setInterval(() => void signAll(), 20_000).unref();
}
const authorization = (caller: Caller) => `Bearer ${spec.target === 'gateway' ? caller.token : internalTokens.get(caller)}`;

interface Context {
  kind?: ClinicianKind;
  sentAt?: number;
}

function step(kind: ClinicianKind) {
  return {
    method: 'POST' as const,
    setupRequest(request: Record<string, unknown>, context: Context) {
      const planned = planner.plan(kind);
      context.kind = planned.kind;
      context.sentAt = performance.now();
      return {
        ...request,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: authorization(planned.caller) },
        body: planned.body,
      };
    },
    onResponse(status: number, body: string, context: Context) {
      const kind = context.kind!;
      const result = byKind[kind];
      result.latencies.push(Math.round((performance.now() - context.sentAt!) * 100) / 100);
      const { code } = classifyAnswer(status, body, (data) => clinicianAnswered(kind, data));
      if (code !== undefined) result.errors[code] = (result.errors[code] ?? 0) + 1;
    },
  };
}

const started = performance.now();
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  pipelining: 1,
  duration: spec.durationSeconds,
  timeout: 10,
  ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
  requests: CLINICIAN_CYCLE.map(step),
});
const seconds = (performance.now() - started) / 1000;
const output: ClinicianLoadResult = {
  seconds,
  requests: CLINICIAN_KINDS.reduce((sum, kind) => sum + byKind[kind].latencies.length, 0),
  byKind,
  autocannon: {
    requestsPerSecond: result.requests.average,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    connectionErrors: result.errors,
  },
};
process.stdout.write(JSON.stringify(output));
process.exit(0);
