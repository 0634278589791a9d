import { ConfigError } from '@healthgraph/platform';
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from './config.js';

const production = {
  NODE_ENV: 'production',
  JWT_JWKS_URL: 'https://idp.example.org/.well-known/jwks.json',
  SUBGRAPH_TOKEN_SECRET: 'a-real-secret-of-at-least-thirty-two-characters',
  DATABASE_URL: 'postgresql://gateway@db.internal/clinical',
};

describe('the gateway configuration', () => {
  it('has safe development defaults', () => {
    const config = loadGatewayConfig({});
    expect(config.persistedQueries.mode).toBe('log_unknown');
    expect(config.cost.mode).toBe('enforce');
    expect(config.subgraphUrls.patients).toBe('http://127.0.0.1:4001/graphql');
    expect(config.limits).toMatchObject({ maxStringLength: 10_000, maxIdLength: 200 });
  });
  it('defaults to the safelist in production', () => {
    expect(loadGatewayConfig(production).persistedQueries.mode).toBe('safelist');
  });
  it.each([
    ['without a JWKS URL', { JWT_JWKS_URL: '' }],
    ['with a shared client secret', { JWT_SECRET: 'x' }],
    ['with the development subgraph secret', { SUBGRAPH_TOKEN_SECRET: '' }],
    ['on the embedded database', { DATABASE_URL: '' }],
  ])('refuses production %s', (_, override) => {
    expect(() => loadGatewayConfig({ ...production, ...override })).toThrow(ConfigError);
  });
  it.each([
    ['PQ_MODE', 'sometimes'],
    ['COST_MODE', 'maybe'],
    ['FIELD_AUTH_MODE', 'hide'],
    ['PQ_BYPASS_ROLES', 'SUPERUSER'],
    ['LIMIT_MAX_DEPTH', '0'],
    ['LIMIT_MAX_STRING_LENGTH', 'long'],
    ['LIMIT_MAX_ID_LENGTH', '0'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(() => loadGatewayConfig({ [name]: value })).toThrow(new RegExp(name));
  });
  it.each(['ops-console', ''])('refuses to start with PQ_BYPASS_CLIENTS="%s": a header the caller chooses proves nothing', (value) => {
    const load = () => loadGatewayConfig({ PQ_BYPASS_CLIENTS: value, PQ_BYPASS_ROLES: 'ADMIN' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/^PQ_BYPASS_CLIENTS is no longer supported: .*apollographql-client-name.*PQ_BYPASS_ROLES/);
    expect(() => load()).not.toThrow(/\n/);
  });
  it('keeps the bypass by verified role', () => {
    expect(loadGatewayConfig({ PQ_BYPASS_ROLES: 'ADMIN,AUDITOR' }).persistedQueries).not.toHaveProperty('bypassClients');
    expect(loadGatewayConfig({ PQ_BYPASS_ROLES: 'ADMIN,AUDITOR' }).persistedQueries.bypassRoles).toEqual(['ADMIN', 'AUDITOR']);
  });
});

describe('browser access settings', () => {
  it('allows no cross-origin page and serves no explorer in production by default', () => {
    const config = loadGatewayConfig(production);
    expect(config.cors.origins).toEqual([]);
    expect(config.explorer).toBe(false);
    expect(config.usageReporting).toBe(false);
  });
  it('allows local pages and Apollo Studio, and serves the explorer, in development', () => {
    const config = loadGatewayConfig({});
    expect(config.cors.origins).toContain('http://localhost:*');
    expect(config.cors.origins).toContain('https://studio.apollographql.com');
    expect(config.explorer).toBe(true);
    expect(config.compression).toEqual({ minBytes: 1024 });
  });
  it('takes CORS_ORIGINS as given, and none as none', () => {
    expect(loadGatewayConfig({ ...production, CORS_ORIGINS: 'https://portal.example.org, https://desk.example.org' }).cors.origins).toEqual(
      ['https://portal.example.org', 'https://desk.example.org'],
    );
    expect(loadGatewayConfig({ CORS_ORIGINS: 'none' }).cors.origins).toEqual([]);
  });
  it('refuses settings that cannot be honoured, in one line each', () => {
    expect(() => loadGatewayConfig({ CORS_ORIGINS: '*', CORS_CREDENTIALS: 'on' })).toThrow(/never allows credentials with \*/);
    expect(() => loadGatewayConfig({ CORS_ORIGINS: 'portal.example.org' })).toThrow(ConfigError);
    expect(() => loadGatewayConfig({ ...production, EXPLORER: 'on' })).toThrow(/EXPLORER=on is for development/);
    expect(() => loadGatewayConfig({ APOLLO_USAGE_REPORTING: 'on' })).toThrow(/needs APOLLO_KEY and APOLLO_GRAPH_REF/);
  });
  it('does not report usage because APOLLO_KEY happens to be set', () => {
    expect(loadGatewayConfig({ APOLLO_KEY: 'service:graph:key', APOLLO_GRAPH_REF: 'graph@current' }).usageReporting).toBe(false);
    expect(
      loadGatewayConfig({ APOLLO_KEY: 'service:graph:key', APOLLO_GRAPH_REF: 'graph@current', APOLLO_USAGE_REPORTING: 'on' })
        .usageReporting,
    ).toEqual({ key: 'service:graph:key', graphRef: 'graph@current' });
  });
});
