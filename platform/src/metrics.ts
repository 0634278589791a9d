import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';

/**
 * The process's Prometheus registry, served at /metrics by the gateway and by every subgraph.
 * No label ever carries PHI: operation names are those of trusted operations or `other`, never a
 * client's free text, and no id of a patient, provider or caller appears anywhere.
 */
export const registry = new client.Registry();

let defaultMetrics = false;
/**
 * Node's standard process and runtime metrics (process_cpu_seconds_total, nodejs_eventloop_lag_*,
 * ...), under their usual unprefixed names so stock Node dashboards find them. Started by the
 * process runner, not on import: importing this module starts no timers.
 */
export function startDefaultMetrics(): void {
  if (defaultMetrics) return;
  defaultMetrics = true;
  client.collectDefaultMetrics({ register: registry });
}

/** Latency buckets in seconds, shared by every duration histogram. */
export const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const seconds = SECONDS_BUCKETS;

/** A counter on the process registry; each package declares the metrics of its own concerns. */
export const counter = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
  new client.Counter<L>({ name, help, labelNames, registers: [registry] });
export const gauge = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = []) =>
  new client.Gauge<L>({ name, help, labelNames, registers: [registry] });
export const histogram = <L extends string = never>(name: string, help: string, buckets: number[], labelNames: readonly L[] = []) =>
  new client.Histogram<L>({ name, help, buckets, labelNames, registers: [registry] });

/** What every service reports: request durations and errors (the audit writer declares its own). */
export const metrics = {
  requestDuration: new client.Histogram({
    name: 'healthgraph_request_duration_seconds',
    help: 'GraphQL request duration, by service, trusted operation name (or other), kind and priority class (gateway)',
    labelNames: ['service', 'operation', 'kind', 'class'] as const,
    buckets: seconds,
    registers: [registry],
  }),
  errors: new client.Counter({
    name: 'healthgraph_errors_total',
    help: 'GraphQL errors returned, by service and extensions.code',
    labelNames: ['service', 'code'] as const,
    registers: [registry],
  }),
};

/** GET /metrics in the Prometheus text format. */
export const metricsRoute = () => async (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
  res.end(await registry.metrics());
};
