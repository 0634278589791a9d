import { ConfigError } from '@healthgraph/platform';
import { describe, expect, it } from 'vitest';
import { loadSubgraphConfig } from './config.js';

const production = {
  NODE_ENV: 'production',
  SUBGRAPH_TOKEN_SECRET: 'a-real-secret-of-at-least-thirty-two-characters',
  DATABASE_URL: 'postgresql://subgraph@db.internal/clinical',
};

describe('a subgraph configuration', () => {
  it('has safe development defaults', () => {
    const config = loadSubgraphConfig({});
    expect(config.batching).toBe(true);
    expect(config.cache.enabled).toBe(true);
  });
  it('reads nothing of the gateway: budgets, limits and persisted-query settings are not its business', () => {
    expect(loadSubgraphConfig({ PQ_MODE: 'nonsense', COST_BUDGET_PATIENT: 'x' })).not.toHaveProperty('persistedQueries');
  });
  it.each([
    ['with batching off', { DATALOADER: 'off' }],
    ['with the cache off', { CACHE: 'off' }],
    ['with Redis and the development cache key', { REDIS_URL: 'redis://cache.internal:6379' }],
  ])('refuses production %s', (_, override) => {
    expect(() => loadSubgraphConfig({ ...production, ...override })).toThrow(ConfigError);
  });
});
