import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';

/**
 * The process's Prometheus registry, served at /metrics by the gateway and by every subgraph.
 * No label ever carries PHI: operation names are those of trusted operations or `other`, never a
 * client's free text, and no id of a patient, provider or caller appears anywhere.
 */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'healthgraph_' });

const seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const metrics = {
  requestDuration: new client.Histogram({
    name: 'healthgraph_request_duration_seconds',
    help: 'GraphQL request duration, by service, trusted operation name (or other) and kind',
    labelNames: ['service', 'operation', 'kind'] as const,
    buckets: seconds,
    registers: [registry],
  }),
  errors: new client.Counter({
    name: 'healthgraph_errors_total',
    help: 'GraphQL errors returned, by service and extensions.code',
    labelNames: ['service', 'code'] as const,
    registers: [registry],
  }),
  cost: new client.Histogram({
    name: 'healthgraph_operation_cost',
    help: 'Estimated (before execution) and actual (after) operation cost',
    labelNames: ['kind'] as const,
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000],
    registers: [registry],
  }),
  costRejections: new client.Counter({ name: 'healthgraph_cost_rejections_total', help: 'Operations refused as too expensive', registers: [registry] }),
  cacheLookups: new client.Counter({
    name: 'healthgraph_cache_lookups_total',
    help: 'Role-scoped cache lookups, by data class and result (hit or miss)',
    labelNames: ['class', 'result'] as const,
    registers: [registry],
  }),
  loaderBatchSize: new client.Histogram({
    name: 'healthgraph_dataloader_batch_size',
    help: 'Keys per DataLoader batch',
    buckets: [1, 2, 5, 10, 20, 50, 100, 250, 500, 1000],
    registers: [registry],
  }),
  statementsPerRequest: new client.Histogram({
    name: 'healthgraph_sql_statements_per_request',
    help: 'SQL statements issued while serving one subgraph request',
    labelNames: ['service'] as const,
    buckets: [0, 1, 2, 3, 5, 8, 13, 21, 50, 100, 500],
    registers: [registry],
  }),
  auditWrite: new client.Histogram({ name: 'healthgraph_audit_write_seconds', help: 'Time to write one batch of audit events', buckets: seconds, registers: [registry] }),
  auditBacklog: new client.Gauge({ name: 'healthgraph_audit_backlog', help: 'Audit events waiting to be written', registers: [registry] }),
};

/** GET /metrics in the Prometheus text format. */
export const metricsRoute = () => async (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
  res.end(await registry.metrics());
};
