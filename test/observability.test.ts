import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import '@healthgraph/gateway/admission';
import '@healthgraph/gateway/plugins/cost';
import '@healthgraph/gateway/rate-limit';
import '@healthgraph/gateway/subgraph-resilience';
import '@healthgraph/kit';
import { registry, startDefaultMetrics } from '@healthgraph/platform';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

/**
 * The Grafana dashboard and the Prometheus alerting rules under deploy/observability name only
 * metrics the code registers, with labels those metrics have: the metrics are read from the real
 * registry (the modules that declare them are imported, Node's defaults started), not from a list.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const dashboard = JSON.parse(readFileSync(`${ROOT}deploy/observability/grafana-dashboard.json`, 'utf8')) as {
  panels: { title: string; targets: { expr: string }[] }[];
};
const rules = parseYaml(readFileSync(`${ROOT}deploy/observability/prometheus-rules.yaml`, 'utf8')) as {
  groups: { name: string; rules: { alert: string; expr: string; for?: string; labels: { severity: string } }[] }[];
};

/** Labels Prometheus adds to every series it scrapes, and the bucket bound of a histogram. */
const SCRAPE_LABELS = new Set(['instance', 'job']);
const PROMQL_WORDS = new Set([
  'sum',
  'by',
  'rate',
  'increase',
  'histogram_quantile',
  'max',
  'min',
  'avg',
  'without',
  'le',
  'max_over_time',
  'and',
]);

let known: Map<string, { type: string; labels: Set<string> }>;
beforeAll(async () => {
  startDefaultMetrics();
  known = new Map();
  // prom-client's declared MetricObject omits what every metric instance has: its label names and get().
  for (const metric of registry.getMetricsAsArray() as unknown as {
    name: string;
    labelNames?: string[];
    get(): Promise<{ type: string }>;
  }[]) {
    const { type } = await metric.get();
    known.set(metric.name, { type, labels: new Set(metric.labelNames ?? []) });
  }
});

/** What is wrong with one PromQL expression: metrics that are not registered, labels they do not have. */
function problemsIn(expr: string): string[] {
  const problems: string[] = [];
  const used: { metric: string; labels: Set<string> }[] = [];
  for (const match of expr.matchAll(/\b((?:healthgraph|nodejs|process)_[a-z0-9_]+)(\{[^}]*\})?/g)) {
    let name = match[1]!;
    let suffix = '';
    const histogram = /^(.*)_(bucket|count|sum)$/.exec(name);
    if (histogram && !known.has(name) && known.has(histogram[1]!)) {
      name = histogram[1]!;
      suffix = histogram[2]!;
    }
    const metric = known.get(name);
    if (!metric) {
      problems.push(`${match[1]} is not a metric the code registers`);
      continue;
    }
    if (suffix && metric.type !== 'histogram' && metric.type !== 'summary')
      problems.push(`${name} is a ${metric.type}, it has no _${suffix}`);
    const labels = new Set([...metric.labels, ...SCRAPE_LABELS, ...(suffix === 'bucket' ? ['le'] : [])]);
    used.push({ metric: name, labels });
    for (const selector of (match[2] ?? '').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g))
      if (!labels.has(selector[1]!)) problems.push(`${name} has no label "${selector[1]}"`);
  }
  if (used.length === 0 && problems.length === 0) problems.push('names no metric');
  for (const clause of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g))
    for (const label of clause[1]!
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean))
      if (!used.some((u) => u.labels.has(label))) problems.push(`no metric in the expression has the label "${label}" it groups by`);
  for (const word of expr.matchAll(/\b([a-z_]+)\s*\(/g))
    if (!PROMQL_WORDS.has(word[1]!) && !known.has(word[1]!)) problems.push(`unknown function ${word[1]}`);
  return problems;
}

describe('dashboards and alerts name what the code exports', () => {
  it('the checker finds the registered metrics and refuses a misspelt metric, label or suffix', () => {
    expect(known.get('healthgraph_request_duration_seconds')?.type).toBe('histogram');
    expect(known.has('healthgraph_audit_journal_events')).toBe(true);
    expect(known.has('healthgraph_cache_lookups_total')).toBe(true);
    expect(known.has('healthgraph_operation_cost')).toBe(true);
    expect(known.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(problemsIn('sum(rate(healthgraph_request_duration_seconds_count[5m]))')).toEqual([]);
    expect(problemsIn('sum(healthgraph_audit_jounral_events)')).toEqual([
      'healthgraph_audit_jounral_events is not a metric the code registers',
    ]);
    expect(problemsIn('sum(rate(healthgraph_errors_total{servce="gateway"}[5m]))')).toEqual([
      'healthgraph_errors_total has no label "servce"',
    ]);
    expect(problemsIn('sum(healthgraph_audit_backlog_count)')).toEqual(['healthgraph_audit_backlog is a gauge, it has no _count']);
    expect(problemsIn('sum by (operation) (rate(healthgraph_errors_total[5m]))')).toEqual([
      'no metric in the expression has the label "operation" it groups by',
    ]);
  });

  const targets = dashboard.panels.flatMap((panel) => panel.targets.map((target) => [panel.title, target.expr] as const));
  it.each(targets)('dashboard panel "%s": %s', (_, expr) => {
    expect(problemsIn(expr)).toEqual([]);
  });

  const alerts = rules.groups.flatMap((group) => group.rules.map((rule) => [rule.alert, rule] as const));
  it.each(alerts)('alert %s', (_, rule) => {
    expect(problemsIn(rule.expr)).toEqual([]);
    expect(['critical', 'warning']).toContain(rule.labels.severity);
    if (rule.for) expect(rule.for).toMatch(/^\d+[smh]$/);
  });

  it('the dashboard covers latency by class, throughput, errors, cache, audit durability, cost, admission, rate limits and breakers; the alerts cover the audit trail, emergency latency, shedding and breakers', () => {
    const all = targets.map(([, expr]) => expr).join('\n');
    for (const metric of [
      'healthgraph_request_duration_seconds_bucket',
      'healthgraph_errors_total',
      'healthgraph_cache_lookups_total',
      'healthgraph_audit_backlog',
      'healthgraph_audit_journal_events',
      'healthgraph_audit_quarantined_total',
      'healthgraph_audit_refused_total',
      'healthgraph_operation_cost_bucket',
      'healthgraph_admission_total',
      'healthgraph_rate_limited_total',
      'healthgraph_subgraph_breaker_state',
    ])
      expect(all).toContain(metric);
    expect(all).toMatch(/sum by \(le, class\) \(rate\(healthgraph_request_duration_seconds_bucket/);
    const alerting = alerts.map(([, rule]) => rule.expr).join('\n');
    for (const metric of [
      'healthgraph_audit_refused_total',
      'healthgraph_audit_quarantined_total',
      'healthgraph_audit_journal_events',
      'healthgraph_subgraph_breaker_state',
      'healthgraph_admission_total',
    ])
      expect(alerting).toContain(metric);
    expect(alerting).toContain('class="emergency"');
    expect(new Set(dashboard.panels.map((p) => p.title)).size).toBe(dashboard.panels.length);
  });
});
