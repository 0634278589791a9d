/**
 * The overload load generator: `node overload.js SPEC.json` drives one target with traffic of
 * several priority classes for the spec's duration, in its own process, and prints one JSON
 * result on stdout.
 *
 * Open loop (`mode: open`): each class sends at its own fixed rate whatever the target answers,
 * as a crowd of portals does, and latency is measured from the moment a request was due, not from
 * when it could be sent, so a target that falls behind is charged for the wait (no coordinated
 * omission). Closed loop (`mode: closed`): `connections` callers each send their next request when
 * the last is answered; it measures what the target can serve.
 */
import { readFileSync } from 'node:fs';
import { internalTokenKey, signInternalToken } from '@healthgraph/platform';
import { Agent, request } from 'undici';
import {
  type Caller,
  type ClassResult,
  OVERLOAD_CLASSES,
  type OverloadClass,
  type OverloadResult,
  type OverloadSpec,
  operationBody,
  pick,
} from './workload.js';

const TIMEOUT_MS = 10_000;

/** What one class sends: an operation, its variables, and the root field an answer must carry. */
function plan(spec: OverloadSpec, kind: OverloadClass): { caller: Caller; body: string; root: string } {
  const caller = pick(spec.callers[kind]);
  switch (kind) {
    case 'back office':
      return Math.random() < 0.5
        ? {
            caller,
            root: 'searchPatients',
            body: operationBody(spec, 'SearchPatients', { name: pick(spec.names), first: 20 }),
          }
        : {
            caller,
            root: 'patient',
            body: operationBody(spec, 'BillingAppointments', { id: pick(spec.patients), first: 20 }),
          };
    case 'portal':
      return caller.role === 'PATIENT'
        ? { caller, root: 'me', body: operationBody(spec, 'MyRecord', {}) }
        : { caller, root: 'patient', body: operationBody(spec, 'PatientSummary', { id: pick(caller.patients) }) };
    case 'break-glass':
      return { caller, root: 'patient', body: operationBody(spec, 'EmergencyChart', { id: pick(spec.patients) }) };
  }
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as OverloadSpec;
const agent = new Agent({ connections: 512, keepAliveTimeout: 30_000, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
const byClass = Object.fromEntries(
  OVERLOAD_CLASSES.map((c) => [c, { offered: 0, served: 0, shed: 0, errors: {}, servedLatencies: [], shedLatencies: [] }]),
) as unknown as Record<OverloadClass, ClassResult>;

// Targets that do not verify client tokens get the subgraph token this gateway would have signed.
const internalTokens = new Map<Caller, string>();
async function signAll(): Promise<void> {
  const key = internalTokenKey(spec.subgraphTokenSecret!);
  for (const caller of Object.values(spec.callers).flat()) {
    const principal = { role: caller.role, sub: caller.sub, purpose: caller.purpose, breakGlassReason: caller.reason };
    internalTokens.set(caller, await signInternalToken(key, principal, `bench-${process.pid}`));
  }
}
if (spec.target !== 'gateway') {
  await signAll();
  setInterval(() => void signAll(), 20_000).unref();
}

let reported = false;
async function send(kind: OverloadClass, due: number): Promise<void> {
  const result = byClass[kind];
  result.offered++;
  const { caller, body, root } = plan(spec, kind);
  const authorization = `Bearer ${spec.target === 'gateway' ? caller.token : internalTokens.get(caller)}`;
  let code: string | undefined;
  try {
    const response = await request(spec.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body,
      dispatcher: agent,
      signal: AbortSignal.timeout(Math.max(1, Math.round(TIMEOUT_MS - (performance.now() - due)))),
    });
    const text = await response.body.text();
    let parsed: { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] } | undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const first = parsed?.errors?.[0]?.extensions?.code;
    if (response.statusCode === 503 && first === 'OVERLOADED') code = 'shed';
    else if (response.statusCode === 429 && first === 'RATE_LIMITED') code = 'shed';
    else if (response.statusCode !== 200) code = `HTTP_${response.statusCode}`;
    else if (parsed?.errors?.length) code = first ?? 'UNCODED';
    else if (parsed?.data?.[root] == null) code = 'NO_DATA';
  } catch (error) {
    if (!reported) {
      reported = true;
      process.stderr.write(`overload: first failed request: ${(error as Error).name}: ${(error as Error).message}\n`);
    }
    code = (error as Error).name === 'TimeoutError' || (error as { code?: string }).code?.includes('TIMEOUT') ? 'TIMEOUT' : 'CONNECTION';
  }
  const ms = Math.round((performance.now() - due) * 100) / 100;
  if (code === undefined) {
    result.served++;
    result.servedLatencies.push(ms);
  } else if (code === 'shed') {
    result.shed++;
    result.shedLatencies.push(ms);
  } else {
    result.errors[code] = (result.errors[code] ?? 0) + 1;
  }
}

const started = performance.now();
const end = started + spec.seconds * 1000;
const pending: Promise<void>[] = [];
const active = OVERLOAD_CLASSES.filter((c) => spec.rates[c] > 0);
if (spec.mode === 'open') {
  // One timer per class, catching up on every request that fell due since it last ran.
  await Promise.all(
    active.map(async (kind) => {
      const interval = 1000 / spec.rates[kind];
      let next = started + Math.random() * interval;
      while (next < end) {
        const now = performance.now();
        while (next <= now && next < end) {
          pending.push(send(kind, next));
          next += interval;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(next - performance.now(), 5))));
      }
    }),
  );
} else {
  // Closed loop: connections spread over the classes in proportion to their rates.
  const total = active.reduce((sum, c) => sum + spec.rates[c], 0);
  const workers = active.flatMap((kind) =>
    Array.from({ length: Math.max(1, Math.round((spec.connections * spec.rates[kind]) / total)) }, () => kind),
  );
  await Promise.all(
    workers.map(async (kind) => {
      while (performance.now() < end) await send(kind, performance.now());
    }),
  );
}
await Promise.all(pending);
const output: OverloadResult = { seconds: (Math.min(performance.now(), end) - started) / 1000, byClass };
process.stdout.write(JSON.stringify(output));
process.exit(0);
