import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const production = {
  NODE_ENV: 'production',
  JWT_JWKS_URL: 'https://idp.example.org/.well-known/jwks.json',
  SUBGRAPH_TOKEN_SECRET: 'a-real-secret-of-at-least-thirty-two-characters',
  DATABASE_URL: 'postgresql://gateway@db.internal/clinical',
};

describe('configuration', () => {
  it('has safe development defaults', () => {
    const config = loadConfig({});
    expect(config.env).toBe('development');
    expect(config.host).toBe('127.0.0.1');
    expect(config.ports.gateway).toBe(4000);
    expect(config.batching).toBe(true);
  });
  it('accepts a complete production configuration', () => {
    expect(loadConfig(production).env).toBe('production');
  });
  it.each([
    ['without a JWKS URL', { JWT_JWKS_URL: '' }],
    ['with a shared client secret', { JWT_SECRET: 'x' }],
    ['with the development subgraph secret', { SUBGRAPH_TOKEN_SECRET: '' }],
    ['with a short subgraph secret', { SUBGRAPH_TOKEN_SECRET: 'short' }],
    ['on the embedded database', { DATABASE_URL: '' }],
    ['with batching off', { DATALOADER: 'off' }],
  ])('refuses production %s', (_, override) => {
    expect(() => loadConfig({ ...production, ...override })).toThrow(ConfigError);
  });
  it('refuses a bad port', () => {
    expect(() => loadConfig({ GATEWAY_PORT: 'http' })).toThrow(/GATEWAY_PORT/);
  });
});
