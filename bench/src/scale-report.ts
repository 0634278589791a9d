/**
 * The scale scenario's figures: what one operation costs through the gateway and in the database
 * at the small and the large size, the seeding time and the table sizes, as JSON and Markdown.
 * Pure functions only (the orchestrator is `scale.ts`).
 */
import type { PlanNode } from '@healthgraph/db';
import { quantile } from './report.js';

/** What the scale load process is asked to send. */
export interface ScaleLoadSpec {
  url: string;
  connections: number;
  seconds: number;
  /** The root field every answer must carry, not null. */
  root: string;
  /** Sent in turn: a caller's client token and a persisted-operation request body. */
  requests: { token: string; body: string }[];
}

export interface ScaleLoadResult {
  seconds: number;
  /** Milliseconds, one per completed request. */
  latencies: number[];
  /** Failures by code: GraphQL error code, HTTP_<status>, NO_DATA, or BAD_JSON. */
  errors: Record<string, number>;
  timeouts: number;
}

/**
 * Why an answer is not a success, or undefined when it is: the HTTP status, the first GraphQL
 * error's code, or NO_DATA when the root field is missing or null.
 */
export function answerCode(status: number, body: string, root: string): string | undefined {
  if (status !== 200) return `HTTP_${status}`;
  let parsed: { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'BAD_JSON';
  }
  if (parsed.errors?.length) return parsed.errors[0]!.extensions?.code ?? 'UNCODED';
  return parsed.data?.[root] == null ? 'NO_DATA' : undefined;
}

/** What one EXPLAIN (ANALYZE, BUFFERS) of one statement found. */
export interface Explained {
  executionMs: number;
  planningMs: number;
  /** Shared buffers hit and read by the whole plan (8 kB each). */
  sharedHit: number;
  sharedRead: number;
  /** Distinct node types, e.g. "Bitmap Index Scan", and the indexes they used. */
  nodes: string[];
  indexes: string[];
}

/** Reads EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)'s single result into {@link Explained}. */
export function readExplain(result: unknown): Explained {
  const top = (Array.isArray(result) ? result[0] : result) as { Plan: PlanNode; 'Execution Time': number; 'Planning Time': number };
  if (!top?.Plan || typeof top['Execution Time'] !== 'number') throw new Error('not an EXPLAIN (ANALYZE, FORMAT JSON) result');
  const nodes = new Set<string>();
  const indexes = new Set<string>();
  const walk = (node: PlanNode) => {
    nodes.add(node['Node Type']);
    if (node['Index Name']) indexes.add(node['Index Name']);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(top.Plan);
  return {
    executionMs: top['Execution Time'],
    planningMs: top['Planning Time'],
    sharedHit: top.Plan['Shared Hit Blocks'] ?? 0,
    sharedRead: top.Plan['Shared Read Blocks'] ?? 0,
    nodes: [...nodes].sort(),
    indexes: [...indexes].sort(),
  };
}

/**
 * Whether a statement the client sent is one to explain: reads only. Transactions, the audit
 * writer's inserts and any other write are left out (EXPLAIN ANALYZE would perform them).
 */
export function isExplainable(sql: string): boolean {
  return /^\s*(SELECT|WITH)\b/i.test(sql) && !/\b(INSERT|UPDATE|DELETE)\b/i.test(sql);
}

/** Figures of one operation at one size. */
export interface ScaleOperation {
  name: string;
  /** The machine's 1-minute load average after each measured round (2 cores here: above 2 means waiting for CPU). */
  loadAverage?: number[];
  /** The trusted operation and what its variables were drawn from. */
  operation: string;
  gateway: {
    requests: number;
    seconds: number;
    throughput: number;
    p50: number;
    p99: number;
    errors: Record<string, number>;
  };
  sql: {
    /** Statements one request sends (reads explained; writes such as audit inserts left out). */
    statements: number;
    /** Per request, the sum of its statements' execution times, over the sampled requests. */
    p50Ms: number;
    maxMs: number;
    planningMs: number;
    /** The slowest statement of the slowest sample: its nodes and indexes. */
    slowest: { sql: string; executionMs: number; nodes: string[]; indexes: string[]; sharedHit: number; sharedRead: number };
    samples: number;
    /** The slowest sample's statements in the order sent: the first 160 characters of each and its execution time. */
    statementsOfSlowest: { sql: string; executionMs: number }[];
  };
}

export interface ScaleTable {
  name: string;
  rows: number;
  /** pg_total_relation_size (heap, indexes, TOAST), over every partition for a partitioned table. */
  totalBytes: number;
  indexBytes: number;
}

export interface ScaleSize {
  patients: number;
  providers: number;
  auditRows: number;
  /** Wall time of `seedDatabase` and of the synthetic audit fill (with ANALYZE). */
  seedSeconds: number;
  auditSeconds: number;
  /** VACUUM ANALYZE of the whole database after loading. */
  vacuumSeconds: number;
  /** When the data was seeded, and whether this run reused it from an earlier run (--reuse-data) rather than seeding it. */
  seededAt: string;
  reused: boolean;
  tables: ScaleTable[];
  databaseBytes: number;
  operations: ScaleOperation[];
}

export interface ScaleReport {
  date: string;
  machine: { cpu: string; cores: number; memoryGb: number; node: string };
  setup: Record<string, string | number>;
  sizes: ScaleSize[];
}

/** Gateway p50/p99 of the large size against the small, and the rare-prefix search in the database. */
export const TARGETS = { gatewayRatio: 1.2, rarePrefixSqlMs: 10 } as const;

export function summariseLoad(runs: ScaleLoadResult[]): ScaleOperation['gateway'] {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
  const errors: Record<string, number> = {};
  for (const run of runs) {
    for (const [code, count] of Object.entries(run.errors)) errors[code] = (errors[code] ?? 0) + count;
    if (run.timeouts) errors.TIMEOUT = (errors.TIMEOUT ?? 0) + run.timeouts;
  }
  return {
    requests: latencies.length,
    seconds: round(seconds, 1),
    throughput: seconds > 0 ? round(latencies.length / seconds, 1) : 0,
    p50: round(quantile(latencies, 0.5), 2),
    p99: round(quantile(latencies, 0.99), 2),
    errors,
  };
}

/** One sampled request's statements, each explained. */
export type SampledRequest = { sql: string; explained: Explained }[];

export function summariseSql(samples: SampledRequest[]): ScaleOperation['sql'] {
  if (samples.length === 0) throw new Error('no sampled requests to summarise');
  const totals = samples.map((statements) => statements.reduce((sum, s) => sum + s.explained.executionMs, 0));
  const sorted = [...totals].sort((a, b) => a - b);
  const worst = samples[totals.indexOf(sorted.at(-1)!)]!;
  const slowest = worst.reduce((a, b) => (b.explained.executionMs > a.explained.executionMs ? b : a));
  const planning = samples.map((statements) => statements.reduce((sum, s) => sum + s.explained.planningMs, 0)).sort((a, b) => a - b);
  return {
    statements: Math.max(...samples.map((s) => s.length)),
    p50Ms: round(quantile(sorted, 0.5), 3),
    maxMs: round(sorted.at(-1)!, 3),
    planningMs: round(quantile(planning, 0.5), 3),
    slowest: {
      sql: slowest.sql,
      executionMs: round(slowest.explained.executionMs, 3),
      nodes: slowest.explained.nodes,
      indexes: slowest.explained.indexes,
      sharedHit: slowest.explained.sharedHit,
      sharedRead: slowest.explained.sharedRead,
    },
    samples: samples.length,
    statementsOfSlowest: worst.map((s) => ({ sql: s.sql.slice(0, 160), executionMs: round(s.explained.executionMs, 3) })),
  };
}

/** Whether each target holds, with the figures it was judged on (large against small). */
export function judgeTargets(small: ScaleSize, large: ScaleSize): { target: string; met: boolean; detail: string }[] {
  const verdicts: { target: string; met: boolean; detail: string }[] = [];
  const rare = large.operations.find((o) => o.name === 'name search, rare prefix');
  if (rare) {
    verdicts.push({
      target: `rare-prefix search under ${TARGETS.rarePrefixSqlMs} ms in the database at ${fmtInt(large.patients)} patients`,
      met: rare.sql.maxMs < TARGETS.rarePrefixSqlMs,
      detail: `p50 ${fmt(rare.sql.p50Ms)} ms, max ${fmt(rare.sql.maxMs)} ms over ${rare.sql.samples} prefixes`,
    });
  }
  for (const op of large.operations) {
    const base = small.operations.find((o) => o.name === op.name);
    if (!base) continue;
    const p50 = op.gateway.p50 / base.gateway.p50;
    const p99 = op.gateway.p99 / base.gateway.p99;
    verdicts.push({
      target: `${op.name}: gateway p50 and p99 within ${Math.round((TARGETS.gatewayRatio - 1) * 100)}% of ${fmtInt(small.patients)} patients`,
      met: p50 <= TARGETS.gatewayRatio && p99 <= TARGETS.gatewayRatio,
      detail: `p50 ${fmt(p50)}x, p99 ${fmt(p99)}x`,
    });
  }
  return verdicts;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
/** Three significant figures, at most two decimals. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 100) return String(Math.round(value));
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toFixed(value >= 0.1 ? 2 : 3);
}
const fmtInt = (value: number) => value.toLocaleString('en-US');
export function fmtBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MB`;
  return `${Math.round(bytes / 2 ** 10)} kB`;
}

function table(header: string[], align: ('l' | 'r')[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const errorText = (errors: Record<string, number>) =>
  Object.entries(errors)
    .map(([code, n]) => `${n} ${code}`)
    .join(', ') || '0';

/** The report as Markdown: figures side by side, seeding, sizes, and the reading against the targets. */
export function renderScaleMarkdown(report: ScaleReport): string {
  const [small, large] = report.sizes as [ScaleSize, ScaleSize | undefined];
  const sizes = large ? [small, large] : [small];
  const out: string[] = [];
  out.push(`### At scale (${report.date.slice(0, 10)})`, '');
  out.push(
    `Machine: ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memoryGb} GB, Node ${report.machine.node}. Everything on this one machine.`,
    '',
  );
  out.push(
    `Setup: ${Object.entries(report.setup)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}.`,
    '',
  );
  const label = (s: ScaleSize) => `${fmtInt(s.patients)} patients, ${fmtInt(s.auditRows)} audit rows`;
  out.push(`#### Per operation: ${sizes.map(label).join(' vs ')}`, '');
  const header = ['operation'];
  const align: ('l' | 'r')[] = ['l'];
  for (const s of sizes) {
    const tag = fmtShort(s.patients);
    header.push(`gateway p50 / p99 ms (${tag})`, `SQL ms p50 / max (${tag})`);
    align.push('r', 'r');
  }
  if (large) {
    header.push('p50 / p99 ratio', 'statements', 'errors');
    align.push('r', 'r', 'l');
  }
  const rows = small.operations.map((op) => {
    const cells = [op.name];
    const ops = sizes.map((s) => s.operations.find((o) => o.name === op.name));
    for (const o of ops) {
      cells.push(o ? `${fmt(o.gateway.p50)} / ${fmt(o.gateway.p99)}` : 'n/a', o ? `${fmt(o.sql.p50Ms)} / ${fmt(o.sql.maxMs)}` : 'n/a');
    }
    if (large) {
      const big = ops[1];
      cells.push(
        big ? `${fmt(big.gateway.p50 / op.gateway.p50)}x / ${fmt(big.gateway.p99 / op.gateway.p99)}x` : 'n/a',
        big ? `${op.sql.statements} / ${big.sql.statements}` : String(op.sql.statements),
        ops.map((o) => (o ? errorText(o.gateway.errors) : 'n/a')).join(' / '),
      );
    }
    return cells;
  });
  out.push(table(header, align, rows), '');
  const loads = sizes.map((s) => s.operations.flatMap((o) => o.loadAverage ?? []).sort((a, b) => a - b));
  if (loads.every((l) => l.length > 0))
    out.push(
      `Machine load, the 1-minute load average after each measured round (${report.machine.cores} cores): ${sizes
        .map((s, i) => `${fmtShort(s.patients)} median ${fmt(quantile(loads[i]!, 0.5))}, max ${fmt(loads[i]!.at(-1)!)}`)
        .join('; ')}.`,
      '',
    );
  out.push('#### Seeding and size', '');
  const names = [...new Set(sizes.flatMap((s) => s.tables.map((t) => t.name)))];
  out.push(
    table(
      ['', ...sizes.map((s) => fmtShort(s.patients))],
      ['l', ...sizes.map(() => 'r' as const)],
      [
        ['seeded', ...sizes.map((s) => `${s.seededAt.slice(0, 16).replace('T', ' ')}${s.reused ? ' (earlier run, reused)' : ''}`)],
        ['seed (set-based), minutes', ...sizes.map((s) => fmt(s.seedSeconds / 60))],
        ['synthetic audit fill, minutes', ...sizes.map((s) => fmt(s.auditSeconds / 60))],
        ['VACUUM ANALYZE after loading, minutes', ...sizes.map((s) => fmt(s.vacuumSeconds / 60))],
        ['database size', ...sizes.map((s) => fmtBytes(s.databaseBytes))],
        ...names.map((name) => [
          `${name} rows, total (of which indexes)`,
          ...sizes.map((s) => {
            const t = s.tables.find((x) => x.name === name);
            return t ? `${fmtInt(t.rows)}, ${fmtBytes(t.totalBytes)} (${fmtBytes(t.indexBytes)})` : 'n/a';
          }),
        ]),
      ],
    ),
    '',
  );
  if (large) {
    out.push('#### Against the targets', '');
    for (const v of judgeTargets(small, large)) out.push(`- ${v.met ? 'met' : '**missed**'}: ${v.target} (${v.detail})`);
    out.push('');
    out.push('Slowest statement per operation at the large size:', '');
    for (const op of large.operations)
      out.push(
        `- ${op.name}: ${fmt(op.sql.slowest.executionMs)} ms, ${op.sql.slowest.nodes.join(', ')}; indexes ${partitionIndexes(op.sql.slowest.indexes).join(', ') || 'none'}`,
      );
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** Index names with each monthly partition's written once: AuditEvent_202501_at_idx -> AuditEvent_YYYYMM_at_idx (n months). */
export function partitionIndexes(names: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const name of names) {
    const key = name.replace(/^(\w+?)_\d{6}_/, '$1_YYYYMM_');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([name, n]) => (name.includes('_YYYYMM_') ? `${name} (${n} months)` : name));
}

/** 2000 -> "2k", 1000000 -> "1M". */
export function fmtShort(n: number): string {
  if (n >= 1_000_000 && n % 100_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1000 && n % 100 === 0) return `${n / 1000}k`;
  return fmtInt(n);
}
