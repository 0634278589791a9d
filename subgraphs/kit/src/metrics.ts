import { counter, histogram } from '@healthgraph/platform';

/** What a subgraph's data layer reports: cache lookups, loader batches and SQL per request. */
export const kitMetrics = {
  cacheLookups: counter('healthgraph_cache_lookups_total', 'Role-scoped cache lookups, by data class and result (hit or miss)', [
    'class',
    'result',
  ] as const),
  loaderBatchSize: histogram('healthgraph_dataloader_batch_size', 'Keys per DataLoader batch', [1, 2, 5, 10, 20, 50, 100, 250, 500, 1000]),
  statementsPerRequest: histogram(
    'healthgraph_sql_statements_per_request',
    'SQL statements issued while serving one subgraph request',
    [0, 1, 2, 3, 5, 8, 13, 21, 50, 100, 500],
    ['service'] as const,
  ),
};
