/**
 * The clinician scenario (`npm run bench -- --scenarios clinician`): a clinician-heavy mix through
 * this gateway, Hive Gateway and the naive stack over the same subgraphs, in rotating rounds; and,
 * with `--soak`, this gateway held at about half its measured capacity for ten minutes while every
 * process's resident memory is sampled. Writes clinician.{json,md}. It measures; it asserts nothing.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Role } from '@healthgraph/platform';
import type { ClinicianLoadResult } from './clinician-load.js';
import { CLINICIAN_KINDS, type ClinicianKind, type ClinicianSpec } from './clinician-workload.js';
import { type Latency, latencyOf } from './report.js';
import type { Caller, Target } from './workload.js';

const DIST = fileURLToPath(new URL('.', import.meta.url));

/** One side of the comparison: a gateway (or the naive stack's) in its own process. */
export interface ClinicianVariant {
  name: string;
  label: string;
  target: Target;
  url: string;
  pid: number | undefined;
  /** The subgraphs' cache behind it (its hit counters), absent for the naive stack. */
  cache?: { stats: Record<string, { hits: number; misses: number }> };
}

/** What the bench hands the scenario: its processes, callers and counters. */
export interface ClinicianContext {
  variants: ClinicianVariant[];
  /** Clinicians with their care teams, front-desk staff and patients. */
  callers: Caller[];
  /** A client token as the identity provider would issue it (break-glass when a reason is given). */
  clientToken: (role: Role, sub: string, breakGlassReason?: string) => Promise<string>;
  patients: string[];
  providers: string[];
  names: string[];
  operations: ClinicianSpec['operations'];
  subgraphTokenSecret: string;
  /** SQL statements the subgraphs have issued so far (audit writes excluded). */
  statements: () => number;
  /** The process that runs the subgraphs. */
  subgraphPid: number;
  connections: number;
  seconds: number;
  rounds: number;
  warmup: number;
  /** Run the soak after the comparison, for this many seconds (0: no soak). */
  soakSeconds: number;
  setup: Record<string, string | number | undefined>;
  scratch: string;
  out: string;
  /** Write a V8 CPU profile of the subgraphs' process over the measured rounds (not its start-up) into this folder. */
  profileDir?: string;
  log: (line: string) => void;
}

export interface ClinicianVariantReport {
  name: string;
  label: string;
  /** Requests answered, refusals (503, 429) and failures included. */
  requests: number;
  /** Requests answered in full: no error, the data asked for present. */
  answered: number;
  seconds: number;
  /** Answered in full per second: a refusal or a failed field is not throughput. */
  throughput: number;
  latency: Latency;
  byKind: Partial<Record<ClinicianKind, Latency>>;
  errors: Record<string, number>;
  sqlPerOperation: number;
  cacheHitRate?: number;
  gatewayCpuMsPerOperation?: number;
  subgraphCpuMsPerOperation: number;
  peakRssMb?: number;
}

export interface SoakReport {
  seconds: number;
  offeredPerSecond: number;
  servedPerSecond: number;
  latency: Latency;
  errors: Record<string, number>;
  /** Resident memory (MB) per process: after the first minute, at the end, and the highest sampled after the first minute. */
  rss: Record<string, { afterWarmup: number; end: number; max: number; growth: number }>;
}

export interface ClinicianReport {
  date: string;
  machine: { cpu: string; cores: number; memoryGb: number; kernel: string; node: string };
  setup: Record<string, string | number | undefined>;
  mix: ClinicianVariantReport[];
  soak?: SoakReport;
}

/** Patients per panel page: the workstation's first page, at the API's default page size (myPatients' @listSize). */
const PANEL_SIZE = 20;

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (user + system) a process has used so far, in milliseconds. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** Resident memory now (VmRSS) or at its peak (VmHWM), in MB. */
function rssMb(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return undefined;
  }
}

interface Run {
  load: ClinicianLoadResult;
  statements: number;
  hits: number;
  lookups: number;
  gatewayCpuMs: number;
  subgraphCpuMs: number;
}

const cacheCount = (variant: ClinicianVariant) => {
  let hits = 0;
  let lookups = 0;
  for (const c of Object.values(variant.cache?.stats ?? {})) {
    hits += c.hits;
    lookups += c.hits + c.misses;
  }
  return { hits, lookups };
};

/** The break-glass callers: every clinician, purpose BTG with a reason, reaching any patient (tokens live 14 minutes). */
async function breakGlassCallers(context: ClinicianContext): Promise<Caller[]> {
  const reason = 'Unresponsive on arrival: emergency department';
  const callers: Caller[] = [];
  for (const clinician of context.callers.filter((c) => c.role === 'CLINICIAN'))
    callers.push({
      ...clinician,
      purpose: 'BTG',
      reason,
      token: await context.clientToken('CLINICIAN', clinician.sub, reason),
      patients: context.patients,
    });
  return callers;
}

async function drive(
  context: ClinicianContext,
  variant: ClinicianVariant,
  breakGlass: Caller[],
  durationSeconds: number,
  overallRate?: number,
): Promise<Run> {
  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const spec: ClinicianSpec = {
    target: variant.target,
    url: variant.url,
    connections: context.connections,
    durationSeconds,
    operations: context.operations,
    subgraphTokenSecret: variant.target === 'gateway' ? undefined : context.subgraphTokenSecret,
    callers: context.callers,
    breakGlass,
    patients: context.patients,
    providers: context.providers,
    names: context.names,
    panelSize: PANEL_SIZE,
    today: today.toISOString(),
    slotsFrom: new Date(today.getTime() + 86_400_000).toISOString().slice(0, 10),
    slotsDays: 28,
    overallRate,
  };
  const specPath = join(context.scratch, `clinician-${variant.name}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const before = {
    statements: context.statements(),
    cache: cacheCount(variant),
    gateway: cpuMs(variant.pid),
    subgraphs: cpuMs(context.subgraphPid),
  };
  const child = spawn(process.execPath, [join(DIST, 'clinician-load.js'), specPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`clinician load generator exited with ${code}`);
  const cache = cacheCount(variant);
  return {
    load: JSON.parse(stdout) as ClinicianLoadResult,
    statements: context.statements() - before.statements,
    hits: cache.hits - before.cache.hits,
    lookups: cache.lookups - before.cache.lookups,
    gatewayCpuMs: cpuMs(variant.pid) - before.gateway,
    subgraphCpuMs: cpuMs(context.subgraphPid) - before.subgraphs,
  };
}

function summarise(variant: ClinicianVariant, runs: Run[]): ClinicianVariantReport {
  const samples: Partial<Record<ClinicianKind, number[]>> = {};
  const errors: Record<string, number> = {};
  let requests = 0;
  let seconds = 0;
  for (const { load } of runs) {
    requests += load.requests;
    seconds += load.seconds;
    for (const kind of CLINICIAN_KINDS) {
      const result = load.byKind[kind];
      if (result.latencies.length) samples[kind] = [...(samples[kind] ?? []), ...result.latencies];
      for (const [code, n] of Object.entries(result.errors)) errors[`${kind}: ${code}`] = (errors[`${kind}: ${code}`] ?? 0) + n;
    }
  }
  const sum = (f: (r: Run) => number) => runs.reduce((total, r) => total + f(r), 0);
  const lookups = sum((r) => r.lookups);
  const answered = requests - Object.values(errors).reduce((a, b) => a + b, 0);
  return {
    name: variant.name,
    label: variant.label,
    requests,
    answered,
    seconds,
    throughput: answered / seconds,
    latency: latencyOf(Object.values(samples).flat()),
    byKind: Object.fromEntries(Object.entries(samples).map(([kind, xs]) => [kind, latencyOf(xs)])),
    errors,
    // Per operation answered in full: the work refusals and failures cost is charged to the answers.
    sqlPerOperation: sum((r) => r.statements) / answered,
    cacheHitRate: variant.cache && lookups > 0 ? sum((r) => r.hits) / lookups : undefined,
    gatewayCpuMsPerOperation: variant.pid !== undefined ? sum((r) => r.gatewayCpuMs) / answered : undefined,
    subgraphCpuMsPerOperation: sum((r) => r.subgraphCpuMs) / answered,
    peakRssMb: rssMb(variant.pid, 'VmHWM'),
  };
}

/** Runs the scenario and writes clinician.{json,md} into `context.out`. */
export async function clinicianScenario(context: ClinicianContext): Promise<ClinicianReport> {
  const { variants, log } = context;
  let breakGlass = await breakGlassCallers(context);
  log(`clinician mix: warming up ${variants.map((v) => v.name).join(', ')} (${context.warmup} s each)...`);
  for (const variant of variants) await drive(context, variant, breakGlass, context.warmup);
  const results = new Map<ClinicianVariant, Run[]>(variants.map((v) => [v, []]));
  // The subgraphs run in this process: profile only the measured rounds, where its start-up and seeding do not weigh.
  const session = context.profileDir ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  for (let round = 0; round < context.rounds; round++) {
    // Rotate the order each round, so drift on a shared machine weighs on every variant alike.
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const variant of order) {
      log(`clinician mix: round ${round + 1}/${context.rounds}, ${variant.name} (${context.seconds} s, c=${context.connections})`);
      results.get(variant)!.push(await drive(context, variant, breakGlass, context.seconds));
    }
  }
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(context.profileDir!, { recursive: true });
    writeFileSync(join(context.profileDir!, `subgraphs-clinician-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  const report: ClinicianReport = {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
    },
    setup: {
      ...context.setup,
      connections: context.connections,
      secondsPerRound: context.seconds,
      rounds: context.rounds,
      panelSize: PANEL_SIZE,
    },
    mix: [...results].map(([variant, runs]) => summarise(variant, runs)),
  };
  if (context.soakSeconds > 0) {
    const ours = variants.find((v) => v.name === 'gateway')!;
    const capacity = report.mix.find((v) => v.name === 'gateway')!.throughput;
    const rate = Math.max(1, Math.round(capacity / 2));
    breakGlass = await breakGlassCallers(context);
    log(`soak: this gateway at ${rate} req/s (half of ${capacity.toFixed(0)}) for ${context.soakSeconds} s, sampling memory...`);
    const processes: Record<string, number | undefined> = {
      ...Object.fromEntries(variants.filter((v) => v.pid !== undefined).map((v) => [v.label, v.pid])),
      subgraphs: context.subgraphPid,
    };
    const samples: { at: number; rss: Record<string, number | undefined> }[] = [];
    const started = Date.now();
    const timer = setInterval(() => {
      samples.push({
        at: Date.now() - started,
        rss: Object.fromEntries(Object.entries(processes).map(([n, pid]) => [n, rssMb(pid, 'VmRSS')])),
      });
    }, 5_000);
    const run = await drive(context, ours, breakGlass, context.soakSeconds, rate);
    clearInterval(timer);
    const warm = samples.filter((s) => s.at >= Math.min(60_000, (context.soakSeconds * 1000) / 4));
    const all = Object.values(run.load.byKind).flatMap((k) => k.latencies);
    const errors: Record<string, number> = {};
    for (const [kind, result] of Object.entries(run.load.byKind))
      for (const [code, n] of Object.entries(result.errors)) errors[`${kind}: ${code}`] = n;
    report.soak = {
      seconds: run.load.seconds,
      offeredPerSecond: rate,
      servedPerSecond: (run.load.requests - Object.values(errors).reduce((x, y) => x + y, 0)) / run.load.seconds,
      latency: latencyOf(all),
      errors,
      rss: Object.fromEntries(
        Object.keys(processes).map((name) => {
          const values = warm.map((s) => s.rss[name]).filter((x): x is number => x !== undefined);
          const afterWarmup = values[0] ?? Number.NaN;
          const end = values.at(-1) ?? Number.NaN;
          return [name, { afterWarmup, end, max: Math.max(...values), growth: end / afterWarmup - 1 }];
        }),
      ),
    };
  }
  mkdirSync(context.out, { recursive: true });
  writeFileSync(join(context.out, 'clinician.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = renderClinicianMarkdown(report);
  writeFileSync(join(context.out, 'clinician.md'), markdown);
  process.stdout.write(`\n${markdown}\nWritten to ${context.out}/clinician.{json,md}\n`);
  return report;
}

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const errorText = (errors: Record<string, number>) => {
  const total = Object.values(errors).reduce((a, b) => a + b, 0);
  return total === 0
    ? '0'
    : `${total} (${Object.entries(errors)
        .map(([code, n]) => `${code} ${n}`)
        .join(', ')})`;
};

/** The scenario's Markdown: one table per comparison, ratios, latency per kind, the soak. */
export function renderClinicianMarkdown(report: ClinicianReport): string {
  const lines: string[] = [];
  const { machine, setup } = report;
  lines.push(`### Clinician mix (${report.date.slice(0, 10)})`, '');
  lines.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Linux ${machine.kernel}, Node ${machine.node}. Load generator, gateways, subgraphs, database and cache all on this one machine.`,
    '',
  );
  lines.push(
    `Setup: ${Object.entries(setup)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}.`,
    '',
  );
  lines.push(
    `Answered req/s counts answers with no error and the data asked for; latency is over every request, refusals included; SQL and CPU are per answered operation.`,
    '',
    `#### Clinician-heavy mix (c=${setup.connections}): per 12 requests, 3 care-team panels (${setup.panelSize} patients with allergies, latest vitals, next visit), 3 charts, a front-desk banner and name search, the portal's own record and access log, a slot search, a break-glass chart read`,
    '',
  );
  lines.push(
    '| variant | answered req/s | p50 ms | p95 ms | p99 ms | refused or failed | SQL / op | cache hit rate | gateway CPU ms / op | subgraph CPU ms / op | gateway peak RSS MB |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const v of report.mix)
    lines.push(
      `| ${v.label} | ${v.throughput.toFixed(1)} | ${ms(v.latency.p50)} | ${ms(v.latency.p95)} | ${ms(v.latency.p99)} | ${errorText(v.errors)} | ${v.sqlPerOperation.toFixed(2)} | ${v.cacheHitRate === undefined ? 'n/a' : `${(100 * v.cacheHitRate).toFixed(1)}%`} | ${ms(v.gatewayCpuMsPerOperation)} | ${ms(v.subgraphCpuMsPerOperation)} | ${v.peakRssMb === undefined ? 'n/a' : v.peakRssMb.toFixed(0)} |`,
    );
  const ours = report.mix.find((v) => v.name === 'gateway');
  if (ours) {
    lines.push('', 'Ratios, this gateway to:', '');
    for (const other of report.mix.filter((v) => v !== ours)) {
      const stack = (v: ClinicianVariantReport) => (v.gatewayCpuMsPerOperation ?? 0) + v.subgraphCpuMsPerOperation;
      lines.push(
        `- ${other.label}: throughput ${(ours.throughput / other.throughput).toFixed(2)}x, p99 ${(ours.latency.p99 / other.latency.p99).toFixed(2)}x (below 1 is faster), gateway CPU per operation ${ours.gatewayCpuMsPerOperation && other.gatewayCpuMsPerOperation ? `${(ours.gatewayCpuMsPerOperation / other.gatewayCpuMsPerOperation).toFixed(2)}x` : 'n/a'}, gateway and subgraph CPU per operation ${(stack(ours) / stack(other)).toFixed(2)}x (below 1 is cheaper), peak RSS ${ours.peakRssMb && other.peakRssMb ? `${(ours.peakRssMb / other.peakRssMb).toFixed(2)}x` : 'n/a'}`,
      );
    }
  }
  lines.push('', 'Latency per operation kind (p50 / p95 / p99 ms):', '');
  lines.push(`| operation | ${report.mix.map((v) => v.name).join(' | ')} |`, `| --- | ${report.mix.map(() => '---:').join(' | ')} |`);
  for (const kind of CLINICIAN_KINDS)
    lines.push(
      `| ${kind} | ${report.mix
        .map((v) => {
          const l = v.byKind[kind];
          return l ? `${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)} (n=${l.count})` : 'n/a';
        })
        .join(' | ')} |`,
    );
  if (report.soak) {
    const s = report.soak;
    lines.push(
      '',
      `#### Soak: this gateway at ${s.offeredPerSecond} req/s (about half its capacity on the mix) for ${Math.round(s.seconds)} s`,
      '',
      `Answered ${s.servedPerSecond.toFixed(1)} req/s in full, p50 ${ms(s.latency.p50)} / p99 ${ms(s.latency.p99)} ms, errors ${errorText(s.errors)}.`,
      '',
      '| process | RSS after warm-up MB | RSS at end MB | highest MB | growth |',
      '| --- | ---: | ---: | ---: | ---: |',
    );
    for (const [name, r] of Object.entries(s.rss))
      lines.push(`| ${name} | ${r.afterWarmup.toFixed(0)} | ${r.end.toFixed(0)} | ${r.max.toFixed(0)} | ${(100 * r.growth).toFixed(1)}% |`);
  }
  return `${lines.join('\n')}\n`;
}
