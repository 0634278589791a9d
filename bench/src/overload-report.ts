/** The overload and subgraph-down scenarios' figures, as a Markdown report and an SVG chart. */
import type { LoadResult } from './load.js';
import { latencyOf } from './report.js';
import { KINDS, type Kind, OVERLOAD_CLASSES, type OverloadClass, type OverloadResult } from './workload.js';

export interface ClassFigures {
  offeredPerSecond: number;
  servedPerSecond: number;
  shedPerSecond: number;
  errors: Record<string, number>;
  served: { p50: number; p99: number; count: number };
  shed: { p50: number; p99: number; max: number; count: number };
}

export interface OverloadVariant {
  name: string;
  label: string;
  byClass: Record<OverloadClass, ClassFigures>;
}

export interface DegradedVariant {
  name: string;
  label: string;
  byKind: Partial<Record<Kind, { perSecond: number; p50: number; p99: number; errors: Record<string, number> }>>;
}

export interface OverloadReport {
  date: string;
  machine: { cpu: string; cores: number; node: string };
  setup: Record<string, string | number | undefined>;
  overload?: { capacityPerSecond: number; capacityConnections: number; rates: Record<OverloadClass, number>; variants: OverloadVariant[] };
  degraded?: DegradedVariant[];
}

const round = (n: number, digits = 1) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : Number.NaN);
const ms = (n: number) => (Number.isNaN(n) ? 'n/a' : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const count = (errors: Record<string, number>) => Object.values(errors).reduce((a, b) => a + b, 0);
const errorText = (errors: Record<string, number>) =>
  count(errors) === 0
    ? '0'
    : Object.entries(errors)
        .map(([code, n]) => `${n} ${code}`)
        .join(', ');

/** One overload variant's runs (one per round) summed up. */
export function summariseOverload(name: string, label: string, runs: OverloadResult[]): OverloadVariant {
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const byClass = Object.fromEntries(
    OVERLOAD_CLASSES.map((c) => {
      const results = runs.map((run) => run.byClass[c]);
      const errors: Record<string, number> = {};
      for (const r of results) for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
      const served = latencyOf(results.flatMap((r) => r.servedLatencies));
      const shedSamples = results.flatMap((r) => r.shedLatencies);
      const shed = latencyOf(shedSamples);
      const figures: ClassFigures = {
        offeredPerSecond: round(results.reduce((s, r) => s + r.offered, 0) / seconds),
        servedPerSecond: round(results.reduce((s, r) => s + r.served, 0) / seconds),
        shedPerSecond: round(results.reduce((s, r) => s + r.shed, 0) / seconds),
        errors,
        served: { p50: round(served.p50), p99: round(served.p99), count: served.count },
        shed: { p50: round(shed.p50), p99: round(shed.p99), max: round(Math.max(0, ...shedSamples)), count: shed.count },
      };
      return [c, figures];
    }),
  ) as Record<OverloadClass, ClassFigures>;
  return { name, label, byClass };
}

/** One subgraph-down variant's runs summed up, per operation kind. */
export function summariseDegraded(name: string, label: string, runs: LoadResult[]): DegradedVariant {
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const byKind: DegradedVariant['byKind'] = {};
  for (const kind of KINDS) {
    const samples = runs.flatMap((run) => run.byKind[kind].latencies);
    if (samples.length === 0) continue;
    const errors: Record<string, number> = {};
    for (const run of runs) for (const [code, n] of Object.entries(run.byKind[kind].errors)) errors[code] = (errors[code] ?? 0) + n;
    const latency = latencyOf(samples);
    byKind[kind] = { perSecond: round(samples.length / seconds), p50: round(latency.p50), p99: round(latency.p99), errors };
  }
  return { name, label, byKind };
}

export function renderOverloadMarkdown(report: OverloadReport): string {
  const lines: string[] = [];
  lines.push(`### Overload and faults (${report.date.slice(0, 10)})`, '');
  lines.push(
    `Machine: ${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}. Everything on this one machine. ${Object.entries(
      report.setup,
    )
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}.`,
    '',
  );
  if (report.overload) {
    const { capacityPerSecond, capacityConnections, rates, variants } = report.overload;
    lines.push(
      `#### Overload: back office and portal offered at ${round(
        (rates['back office'] + rates.portal) / capacityPerSecond,
      )}x what this gateway serves (${round(rates['back office'] + rates.portal, 0)} req/s offered; ${round(capacityPerSecond, 0)} req/s served with ${capacityConnections} callers sending back to back), plus break-glass chart reads at ${rates['break-glass']} req/s`,
      '',
    );
    lines.push(
      '| gateway | class | offered req/s | served req/s | shed req/s | errors | served p50 ms | served p99 ms | shed p50 / p99 / max ms |',
      '| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    );
    for (const v of variants) {
      for (const c of OVERLOAD_CLASSES) {
        const f = v.byClass[c];
        lines.push(
          `| ${v.label} | ${c} | ${f.offeredPerSecond} | ${f.servedPerSecond} | ${f.shedPerSecond} | ${errorText(f.errors)} | ${ms(f.served.p50)} | ${ms(f.served.p99)} | ${f.shed.count ? `${ms(f.shed.p50)} / ${ms(f.shed.p99)} / ${ms(f.shed.max)}` : 'n/a'} |`,
        );
      }
    }
    lines.push('');
    const ours = variants.find((v) => v.name === 'gateway');
    const hive = variants.find((v) => v.name === 'hive');
    if (ours) {
      const bg = ours.byClass['break-glass'];
      lines.push(
        `- Break-glass under overload, this gateway: p50 ${ms(bg.served.p50)} ms, p99 **${ms(bg.served.p99)} ms** (target < 250 ms), ${count(bg.errors)} errors, ${bg.shed.count} refused. Refusals of the other classes answered in ${OVERLOAD_CLASSES.filter(
          (c) => ours.byClass[c].shed.count > 0,
        )
          .map((c) => `${c} p50 ${ms(ours.byClass[c].shed.p50)} / p99 ${ms(ours.byClass[c].shed.p99)} ms`)
          .join(', ')} (target < 50 ms).`,
      );
    }
    if (ours && hive) {
      const a = ours.byClass['break-glass'].served.p99;
      const b = hive.byClass['break-glass'].served.p99;
      lines.push(
        `- Hive Gateway in the same run: break-glass p99 **${ms(b)} ms**, ${count(hive.byClass['break-glass'].errors)} errors (${errorText(hive.byClass['break-glass'].errors)}); this gateway's break-glass p99 is ${round(a / b, 3)}x Hive's.`,
      );
    }
    lines.push('');
  }
  if (report.degraded) {
    lines.push(
      `#### Records subgraph down: patient lookups, slot searches and chart reads (c=${report.setup['subgraph-down callers']})`,
      '',
    );
    lines.push('| variant | operation | req/s | p50 ms | p99 ms | errors |', '| --- | --- | ---: | ---: | ---: | --- |');
    for (const v of report.degraded) {
      for (const [kind, f] of Object.entries(v.byKind)) {
        lines.push(`| ${v.label} | ${kind} | ${f.perSecond} | ${ms(f.p50)} | ${ms(f.p99)} | ${errorText(f.errors)} |`);
      }
    }
    lines.push('');
    const normal = report.degraded.find((v) => v.name === 'normal');
    if (normal) {
      for (const v of report.degraded.filter((d) => d !== normal)) {
        const parts = (['patient lookup', 'available slots'] as const).map((kind) => {
          const n = normal.byKind[kind];
          const d = v.byKind[kind];
          return n && d
            ? `${kind}: throughput ${round(d.perSecond / n.perSecond, 2)}x, p50 ${round(d.p50 / n.p50, 2)}x, p99 ${round(d.p99 / n.p99, 2)}x`
            : '';
        });
        lines.push(`- ${v.label}, against records up: ${parts.filter(Boolean).join('; ')}.`);
      }
      lines.push('');
    }
  }
  return `${lines.join('\n')}\n`;
}

export function renderOverloadChart(report: OverloadReport): string {
  const parts: string[] = [];
  const width = 960;
  let top = 40;
  const colours: Record<OverloadClass, string> = { 'back office': '#718096', portal: '#2b6cb0', 'break-glass': '#c53030' };
  if (report.overload) {
    const { variants } = report.overload;
    parts.push(
      `<text x="20" y="${top - 14}" font-size="16" font-weight="bold">Overload: p99 of served requests per class (ms, log scale)</text>`,
    );
    const height = 240;
    const maxLog = Math.log10(Math.max(10, ...variants.flatMap((v) => OVERLOAD_CLASSES.map((c) => v.byClass[c].served.p99 || 1))));
    const group = (width - 80) / variants.length;
    variants.forEach((v, i) => {
      OVERLOAD_CLASSES.forEach((c, j) => {
        const value = v.byClass[c].served.p99;
        const h = Number.isNaN(value) ? 0 : (height * Math.log10(Math.max(1, value))) / maxLog;
        const w = (group - 40) / OVERLOAD_CLASSES.length;
        const x = 40 + i * group + j * w;
        parts.push(`<rect x="${x}" y="${top + height - h}" width="${w - 6}" height="${h}" fill="${colours[c]}"/>`);
        parts.push(`<text x="${x + (w - 6) / 2}" y="${top + height - h - 4}" font-size="11" text-anchor="middle">${ms(value)}</text>`);
        parts.push(`<text x="${x + (w - 6) / 2}" y="${top + height + 14}" font-size="10" text-anchor="middle">${c}</text>`);
      });
      parts.push(
        `<text x="${40 + i * group + (group - 40) / 2}" y="${top + height + 32}" font-size="12" text-anchor="middle">${v.label}</text>`,
      );
    });
    // The 250 ms target.
    const target = top + height - (height * Math.log10(250)) / maxLog;
    parts.push(`<line x1="30" x2="${width - 20}" y1="${target}" y2="${target}" stroke="#c53030" stroke-dasharray="4 3"/>`);
    parts.push(
      `<text x="${width - 24}" y="${target - 4}" font-size="10" text-anchor="end" fill="#c53030">250 ms break-glass target</text>`,
    );
    top += height + 80;
    parts.push(
      `<text x="20" y="${top - 14}" font-size="16" font-weight="bold">Overload: requests per second offered, served and shed</text>`,
    );
    const maxRate = Math.max(1, ...variants.flatMap((v) => OVERLOAD_CLASSES.map((c) => v.byClass[c].offeredPerSecond)));
    variants.forEach((v, i) => {
      OVERLOAD_CLASSES.forEach((c, j) => {
        const f = v.byClass[c];
        const w = (group - 40) / OVERLOAD_CLASSES.length;
        const x = 40 + i * group + j * w;
        const scale = (n: number) => (height * n) / maxRate;
        parts.push(
          `<rect x="${x}" y="${top + height - scale(f.offeredPerSecond)}" width="${w - 6}" height="${scale(f.offeredPerSecond)}" fill="${colours[c]}" fill-opacity="0.2"/>`,
        );
        parts.push(
          `<rect x="${x}" y="${top + height - scale(f.servedPerSecond)}" width="${w - 6}" height="${scale(f.servedPerSecond)}" fill="${colours[c]}"/>`,
        );
        parts.push(
          `<text x="${x + (w - 6) / 2}" y="${top + height - scale(f.offeredPerSecond) - 4}" font-size="10" text-anchor="middle">${f.servedPerSecond} / ${f.offeredPerSecond}</text>`,
        );
        parts.push(`<text x="${x + (w - 6) / 2}" y="${top + height + 14}" font-size="10" text-anchor="middle">${c}</text>`);
      });
      parts.push(
        `<text x="${40 + i * group + (group - 40) / 2}" y="${top + height + 32}" font-size="12" text-anchor="middle">${v.label}</text>`,
      );
    });
    parts.push(
      `<text x="40" y="${top + height + 50}" font-size="10" fill="#4a5568">solid: served; pale: offered; label: served / offered</text>`,
    );
    top += height + 90;
  }
  if (report.degraded) {
    parts.push(
      `<text x="20" y="${top - 14}" font-size="16" font-weight="bold">Records subgraph down: requests per second per operation</text>`,
    );
    const height = 200;
    const kinds = [...new Set(report.degraded.flatMap((v) => Object.keys(v.byKind)))] as Kind[];
    const max = Math.max(1, ...report.degraded.flatMap((v) => kinds.map((k) => v.byKind[k]?.perSecond ?? 0)));
    const group = (width - 80) / kinds.length;
    const shades = ['#2f855a', '#9c4221', '#718096'];
    kinds.forEach((kind, i) => {
      report.degraded!.forEach((v, j) => {
        const value = v.byKind[kind]?.perSecond ?? 0;
        const w = (group - 40) / report.degraded!.length;
        const x = 40 + i * group + j * w;
        const h = (height * value) / max;
        parts.push(`<rect x="${x}" y="${top + height - h}" width="${w - 6}" height="${h}" fill="${shades[j % shades.length]}"/>`);
        parts.push(`<text x="${x + (w - 6) / 2}" y="${top + height - h - 4}" font-size="10" text-anchor="middle">${value}</text>`);
      });
      parts.push(
        `<text x="${40 + i * group + (group - 40) / 2}" y="${top + height + 16}" font-size="12" text-anchor="middle">${kind}</text>`,
      );
    });
    report.degraded.forEach((v, j) => {
      parts.push(`<rect x="${40 + j * 260}" y="${top + height + 30}" width="12" height="12" fill="${shades[j % shades.length]}"/>`);
      parts.push(`<text x="${58 + j * 260}" y="${top + height + 40}" font-size="11">${v.label}</text>`);
    });
    top += height + 70;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top}" viewBox="0 0 ${width} ${top}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${parts.join('\n')}
</svg>
`;
}
