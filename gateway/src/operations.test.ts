import { readdirSync, readFileSync } from 'node:fs';
import { buildSchema, getOperationAST, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { readSupergraph } from './compose.js';
import { loadGatewayConfig } from './config.js';
import { DEFAULT_MANIFEST_PATH } from './persisted-queries.js';
import { estimateCost, readCostRules } from './plugins/cost.js';
import { measureOperation } from './plugins/operation-limits.js';

const supergraph = readSupergraph();
const schema = buildSchema(supergraph, { assumeValidSDL: true });
const rules = readCostRules(supergraph);
const { limits, cost } = loadGatewayConfig({});
const operations = (JSON.parse(readFileSync(DEFAULT_MANIFEST_PATH, 'utf8')) as { operations: { name: string; body: string }[] }).operations;
const smallestBudget = Math.min(
  ...Object.entries(cost.budgets)
    .filter(([role]) => role !== 'ADMIN')
    .map(([, budget]) => budget),
);

describe("the portals' trusted operations", () => {
  it.each(operations.map((o) => [o.name, o.body] as const))('%s passes every default limit and budget with a 2x margin', (_, body) => {
    const document = parse(body, { maxTokens: limits.maxTokens / 2 });
    const operation = getOperationAST(document)!;
    const shape = measureOperation(document, operation);
    expect(shape.depth).toBeLessThanOrEqual(limits.maxDepth / 2 + 2);
    expect(shape.aliases).toBeLessThanOrEqual(limits.maxAliases / 2);
    expect(shape.rootFields).toBeLessThanOrEqual(limits.maxRootFields / 2);
    expect(shape.fields).toBeLessThanOrEqual(limits.maxFields / 2);
    expect(estimateCost(schema, rules, document, operation, {}).cost).toBeLessThanOrEqual(smallestBudget / 2);
  });

  it('are all in the manifest (run `npm run pq:manifest` when this fails)', () => {
    const dir = new URL('../../schema/operations/', import.meta.url);
    const names = readdirSync(dir)
      .filter((file) => file.endsWith('.graphql'))
      .map((file) => getOperationAST(parse(readFileSync(new URL(file, dir), 'utf8')))!.name!.value)
      .sort();
    expect(operations.map((o) => o.name).sort()).toEqual(names);
  });
});
