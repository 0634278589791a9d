/** Turns the benchmark's raw runs into figures, a Markdown report and an SVG chart. */
import type { LoadResult } from './load.js';
import { KINDS, type Kind } from './workload.js';

export interface Latency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface VariantReport {
  name: string;
  label: string;
  requests: number;
  /** Requests answered with no error: refusals (503, 429) and failures are not throughput. */
  answered: number;
  seconds: number;
  /** Answered requests per second. */
  throughput: number;
  latency: Latency;
  byKind: Partial<Record<Kind, Latency>>;
  /** Failures by code (expected business outcomes excluded). */
  errors: Record<string, number>;
  /** Bookings that lost a race for a slot: SLOT_UNAVAILABLE, the system working as designed. */
  slotConflicts: number;
  sqlPerOperation: number;
  /** Share of cache lookups answered from the cache, when the variant's subgraphs have one. */
  cacheHitRate?: number;
  /** Hits and misses per data class (patient, relationship, clinical, appointments...). */
  cacheByClass?: Record<string, { hits: number; misses: number }>;
  /** CPU time the gateway process spent per operation (user + system). */
  gatewayCpuMsPerOperation?: number;
  /** CPU time the subgraphs' process spent per operation. */
  subgraphCpuMsPerOperation: number;
  peakRssMb?: number;
}

export interface NPlusOneRow {
  appointments: number;
  dataloader: { statements: number; samples: number[] };
  naive: { statements: number; samples: number[] };
}

export interface BenchReport {
  date: string;
  machine: { cpu: string; cores: number; memoryGb: number; kernel: string; node: string };
  setup: Record<string, string | number | undefined>;
  mix: VariantReport[];
  lookup: VariantReport[];
  nPlusOne: NPlusOneRow[];
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export function latencyOf(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return { count: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99) };
}

interface Run {
  load: LoadResult;
  statements: number;
  cacheHits: number;
  cacheMisses: number;
  cacheByClass: Record<string, { hits: number; misses: number }>;
  gatewayCpuMs: number;
  subgraphCpuMs: number;
}

export function summarise(
  name: string,
  label: string,
  runs: Run[],
  cached: boolean,
  hasGateway: boolean,
  peakRssMb: number | undefined,
): VariantReport {
  const samples: Partial<Record<Kind, number[]>> = {};
  const errors: Record<string, number> = {};
  let slotConflicts = 0;
  let requests = 0;
  let seconds = 0;
  for (const { load } of runs) {
    requests += load.requests;
    seconds += load.seconds;
    for (const kind of KINDS) {
      const result = load.byKind[kind];
      if (result.latencies.length) {
        samples[kind] ??= [];
        samples[kind].push(...result.latencies);
      }
      slotConflicts += result.expected;
      for (const [code, n] of Object.entries(result.errors)) errors[code] = (errors[code] ?? 0) + n;
    }
  }
  const cacheByClass: Record<string, { hits: number; misses: number }> = {};
  for (const run of runs) {
    for (const [dataClass, { hits, misses }] of Object.entries(run.cacheByClass)) {
      cacheByClass[dataClass] ??= { hits: 0, misses: 0 };
      const total = cacheByClass[dataClass];
      total.hits += hits;
      total.misses += misses;
    }
  }
  // A lost slot race is an answer (SLOT_UNAVAILABLE, by design); a refusal or a failure is not.
  const answered = requests - Object.values(errors).reduce((a, b) => a + b, 0);
  const perAnswered = (total: number) => (answered > 0 ? total / answered : Number.NaN);
  const hits = runs.reduce((sum, r) => sum + r.cacheHits, 0);
  const lookups = hits + runs.reduce((sum, r) => sum + r.cacheMisses, 0);
  return {
    name,
    label,
    requests,
    answered,
    seconds,
    throughput: answered / seconds,
    latency: latencyOf(Object.values(samples).flat()),
    byKind: Object.fromEntries(Object.entries(samples).map(([kind, xs]) => [kind, latencyOf(xs)])),
    errors,
    slotConflicts,
    // Per answered operation: the work refusals and failures cost is charged to the answers.
    sqlPerOperation: perAnswered(runs.reduce((sum, r) => sum + r.statements, 0)),
    cacheHitRate: cached && lookups > 0 ? hits / lookups : undefined,
    cacheByClass: cached ? Object.fromEntries(Object.entries(cacheByClass).filter(([, c]) => c.hits + c.misses > 0)) : undefined,
    gatewayCpuMsPerOperation: hasGateway ? perAnswered(runs.reduce((sum, r) => sum + r.gatewayCpuMs, 0)) : undefined,
    subgraphCpuMsPerOperation: perAnswered(runs.reduce((sum, r) => sum + r.subgraphCpuMs, 0)),
    peakRssMb,
  };
}

const ms = (x: number) => (Number.isNaN(x) ? 'n/a' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const errorText = (v: VariantReport) => {
  const total = Object.values(v.errors).reduce((a, b) => a + b, 0);
  if (total === 0) return '0';
  return `${total} (${Object.entries(v.errors)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ')})`;
};

function variantTable(variants: VariantReport[]): string {
  const rows = variants.map(
    (v) =>
      `| ${v.label} | ${v.throughput.toFixed(0)} | ${ms(v.latency.p50)} | ${ms(v.latency.p95)} | ${ms(v.latency.p99)} | ${errorText(v)} | ${v.sqlPerOperation.toFixed(2)} | ${v.cacheHitRate === undefined ? 'n/a' : `${(100 * v.cacheHitRate).toFixed(1)}%`} | ${v.gatewayCpuMsPerOperation === undefined ? 'n/a' : v.gatewayCpuMsPerOperation.toFixed(2)} | ${v.subgraphCpuMsPerOperation.toFixed(2)} | ${v.peakRssMb === undefined ? 'n/a' : v.peakRssMb.toFixed(0)} |`,
  );
  return [
    '| variant | answered req/s | p50 ms | p95 ms | p99 ms | refused or failed | SQL / op | cache hit rate | gateway CPU ms / op | subgraph CPU ms / op | gateway peak RSS MB |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

function kindTable(variants: VariantReport[]): string {
  const header = `| operation | ${variants.map((v) => `${v.name} p50 / p95 / p99 ms`).join(' | ')} |`;
  const rows = KINDS.filter((kind) => variants.some((v) => v.byKind[kind])).map((kind) => {
    const cells = variants.map((v) => {
      const l = v.byKind[kind];
      return l ? `${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)} (n=${l.count})` : 'n/a';
    });
    return `| ${kind} | ${cells.join(' | ')} |`;
  });
  return [header, `| --- | ${variants.map(() => '---:').join(' | ')} |`, ...rows].join('\n');
}

export function renderMarkdown(report: BenchReport): string {
  const byName = (list: VariantReport[], name: string) => list.find((v) => v.name === name);
  const mine = byName(report.mix, 'gateway')!;
  const hive = byName(report.mix, 'hive');
  const naive = byName(report.mix, 'naive');
  const queued = byName(report.mix, 'queued');
  const lookupMine = byName(report.lookup, 'gateway')!;
  const direct = byName(report.lookup, 'subgraph');
  const lines = [
    `# Benchmark: ${report.date.slice(0, 10)}`,
    '',
    `Machine: ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memoryGb} GB, Linux ${report.machine.kernel}, Node ${report.machine.node}. ` +
      `Load generator, gateways, subgraphs, database and cache all on this one machine.`,
    '',
    `Setup: ${report.setup.database}; cache ${report.setup.cache}; ${report.setup.patients} seeded patients; this gateway runs with ${report.setup.ourGateway}. ` +
      `${report.setup.rounds} rounds of ${report.setup.secondsPerRound} s per variant, the order rotating each round, after a warm-up.`,
    '',
    'Answered req/s counts answers with no error (a booking that lost its slot to another is an answer); latency is over every request, refusals included; SQL and CPU are per answered operation.',
    '',
    `## Portal mix (c=${report.setup.connections}): 40% patient lookup, 30% clinical record, 20% scheduling (slots, then booking), 10% provider search`,
    '',
    variantTable(report.mix),
    '',
    'Ratios, this gateway to:',
    hive
      ? `- Hive Gateway: throughput ${ratio(mine.throughput, hive.throughput)}, p99 ${ratio(mine.latency.p99, hive.latency.p99)} (below 1 is faster)`
      : '',
    hive && mine.gatewayCpuMsPerOperation && hive.gatewayCpuMsPerOperation
      ? `- Hive Gateway, CPU per operation in the gateway process: ${ratio(mine.gatewayCpuMsPerOperation, hive.gatewayCpuMsPerOperation)} (below 1 is cheaper)`
      : '',
    queued
      ? `- itself with audit events not awaited (the cost of durability): throughput ${ratio(mine.throughput, queued.throughput)}, p50 ${ratio(mine.latency.p50, queued.latency.p50)}, p99 ${ratio(mine.latency.p99, queued.latency.p99)}`
      : '',
    naive
      ? `- the naive stack: throughput ${ratio(mine.throughput, naive.throughput)}, SQL statements per operation ${mine.sqlPerOperation.toFixed(2)} vs ${naive.sqlPerOperation.toFixed(2)}`
      : '',
    `- Bookings that lost a race for a slot (SLOT_UNAVAILABLE, expected): ${report.mix.map((v) => `${v.name} ${v.slotConflicts}`).join(', ')}`,
    '',
    mine.cacheByClass
      ? `Cache hit rate per data class (this gateway's runs): ${Object.entries(mine.cacheByClass)
          .map(([c, { hits, misses }]) => `${c} ${((100 * hits) / (hits + misses)).toFixed(1)}%`)
          .join(', ')}.`
      : '',
    '',
    'Latency per operation kind:',
    '',
    kindTable(report.mix),
    '',
    `## Patient lookup alone (c=${report.setup.lookupConnections})`,
    '',
    variantTable(report.lookup),
    '',
    direct
      ? `This gateway reaches ${ratio(lookupMine.throughput, direct.throughput)} of the subgraph's own throughput; p50 ${ms(lookupMine.latency.p50)} ms vs ${ms(direct.latency.p50)} ms direct.`
      : '',
    '',
    "## N+1: a clinician's day schedule with each patient's allergies and latest vitals (cache off)",
    '',
    '| appointments | SQL statements, DataLoader | SQL statements, naive | p50 ms, DataLoader | p50 ms, naive |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...report.nPlusOne.map(
      (row) =>
        `| ${row.appointments} | ${row.dataloader.statements.toFixed(1)} | ${row.naive.statements.toFixed(1)} | ${ms(latencyOf(row.dataloader.samples).p50)} | ${ms(latencyOf(row.naive.samples).p50)} |`,
    ),
    '',
  ];
  return `${lines.filter((line, i, all) => !(line === '' && all[i - 1] === '')).join('\n')}\n`;
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Two bar panels: throughput per variant, and p50/p95/p99 per variant, for the portal mix and the lookup. */
export function renderChart(report: BenchReport): string {
  const panels = [
    { title: `Portal mix, c=${report.setup.connections}`, variants: report.mix },
    { title: `Patient lookup, c=${report.setup.lookupConnections}`, variants: report.lookup },
  ];
  const width = 960;
  const panelHeight = 300;
  const colours = ['#2b6cb0', '#9c4221', '#718096', '#2f855a'];
  const parts: string[] = [];
  panels.forEach((panel, row) => {
    const top = 40 + row * (panelHeight + 60);
    parts.push(`<text x="20" y="${top - 12}" font-size="16" font-weight="bold">${escapeXml(panel.title)}</text>`);
    // Left: throughput bars.
    const maxThroughput = Math.max(...panel.variants.map((v) => v.throughput));
    const barWidth = 360 / panel.variants.length;
    parts.push(`<text x="20" y="${top + 12}" font-size="12">requests per second</text>`);
    panel.variants.forEach((v, i) => {
      const h = ((panelHeight - 80) * v.throughput) / maxThroughput;
      const x = 30 + i * barWidth;
      const y = top + panelHeight - 50 - h;
      parts.push(`<rect x="${x}" y="${y}" width="${barWidth - 16}" height="${h}" fill="${colours[i % colours.length]}"/>`);
      parts.push(`<text x="${x + (barWidth - 16) / 2}" y="${y - 4}" font-size="12" text-anchor="middle">${v.throughput.toFixed(0)}</text>`);
      parts.push(
        `<text x="${x + (barWidth - 16) / 2}" y="${top + panelHeight - 32}" font-size="11" text-anchor="middle">${escapeXml(v.name)}</text>`,
      );
    });
    // Right: latency percentiles, grouped per variant.
    const left = 480;
    const maxLatency = Math.max(...panel.variants.map((v) => v.latency.p99));
    const group = 440 / panel.variants.length;
    parts.push(`<text x="${left}" y="${top + 12}" font-size="12">latency ms: p50, p95, p99</text>`);
    panel.variants.forEach((v, i) => {
      (['p50', 'p95', 'p99'] as const).forEach((q, j) => {
        const h = ((panelHeight - 80) * v.latency[q]) / maxLatency;
        const w = (group - 16) / 3;
        const x = left + i * group + j * w;
        const y = top + panelHeight - 50 - h;
        parts.push(
          `<rect x="${x}" y="${y}" width="${w - 2}" height="${h}" fill="${colours[i % colours.length]}" fill-opacity="${0.45 + 0.25 * j}"/>`,
        );
        parts.push(`<text x="${x + w / 2}" y="${y - 4}" font-size="10" text-anchor="middle">${ms(v.latency[q])}</text>`);
      });
      parts.push(
        `<text x="${left + i * group + (group - 16) / 2}" y="${top + panelHeight - 32}" font-size="11" text-anchor="middle">${escapeXml(v.name)}</text>`,
      );
    });
  });
  const height = 40 + panels.length * (panelHeight + 60);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${parts.join('\n')}
<text x="20" y="${height - 12}" font-size="11" fill="#4a5568">${escapeXml(`${report.date.slice(0, 10)} · ${report.machine.cores} cores · ${report.setup.database} · cache ${report.setup.cache}`)}</text>
</svg>
`;
}
