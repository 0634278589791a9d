import { describe, expect, it } from 'vitest';
import { ConfigError, loadPlatformConfig } from './config.js';

const production = {
  NODE_ENV: 'production',
  SUBGRAPH_TOKEN_SECRET: 'a-real-secret-of-at-least-thirty-two-characters',
  DATABASE_URL: 'postgresql://gateway@db.internal/clinical',
};

describe('the platform configuration', () => {
  it('has safe development defaults', () => {
    const config = loadPlatformConfig({});
    expect(config.env).toBe('development');
    expect(config.host).toBe('127.0.0.1');
    expect(config.ports.gateway).toBe(4000);
    expect(config.logLevel).toBe('info');
  });
  it('accepts a complete production configuration', () => {
    expect(loadPlatformConfig(production).env).toBe('production');
  });
  it.each([
    ['with the development subgraph secret', { SUBGRAPH_TOKEN_SECRET: '' }],
    ['with a short subgraph secret', { SUBGRAPH_TOKEN_SECRET: 'short' }],
    ['on the embedded database', { DATABASE_URL: '' }],
  ])('refuses production %s', (_, override) => {
    expect(() => loadPlatformConfig({ ...production, ...override })).toThrow(ConfigError);
  });
  it('takes a read replica only beside its primary and a Redis that every process shares', () => {
    const replica = 'postgresql://reader@replica.internal/clinical';
    expect(() => loadPlatformConfig({ DATABASE_REPLICA_URL: replica })).toThrow(/set both/);
    expect(() => loadPlatformConfig({ ...production, DATABASE_REPLICA_URL: replica })).toThrow(/needs REDIS_URL/);
    expect(loadPlatformConfig({ ...production, DATABASE_REPLICA_URL: replica, REDIS_URL: 'redis://cache:6379' }).databaseReplicaUrl).toBe(
      replica,
    );
  });

  it('refuses a bad port, naming the variable', () => {
    expect(() => loadPlatformConfig({ GATEWAY_PORT: 'http' })).toThrow(/GATEWAY_PORT/);
  });
  it('refuses an unknown log level with one clear line instead of a logger crash', () => {
    expect(() => loadPlatformConfig({ LOG_LEVEL: 'verbose' })).toThrow(
      new ConfigError('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"'),
    );
  });
});
