import { describe, expect, it } from 'vitest';
import { composeSupergraph, readSupergraph } from './compose.js';

describe('the committed supergraph', () => {
  it('is what the subgraph SDL composes to today (run `npm run compose` when this fails)', () => {
    expect(readSupergraph()).toBe(composeSupergraph());
  });
});
