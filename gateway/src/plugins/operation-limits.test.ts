import { getOperationAST, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { measureOperation, promoteTokenLimit } from './operation-limits.js';

const shape = (query: string) => {
  const document = parse(query);
  return measureOperation(document, getOperationAST(document)!);
};

describe('operation shape', () => {
  it('counts depth, aliases, root fields and fields through fragments', () => {
    expect(shape('{ a { b { c } } d }')).toEqual({ fields: 4, depth: 3, aliases: 0, rootFields: 2, directivesPerField: 0 });
    expect(shape('{ x: a { ...F ...F } } fragment F on T { y: b { z: c } }')).toMatchObject({
      depth: 3,
      aliases: 5,
      rootFields: 1,
      fields: 5,
    });
    expect(shape('{ ... on Query { a b } ...R } fragment R on Query { c }')).toMatchObject({ rootFields: 3 });
  });

  it('counts directives on the most decorated field', () => {
    expect(shape('{ a @x @y @z b @x }').directivesPerField).toBe(3);
  });

  it('measures a fragment bomb without expanding it', () => {
    const levels = 60;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1 ? `fragment F${i} on T { id }` : `fragment F${i} on T { ...F${i + 1} ...F${i + 1} }`,
    ).join('\n');
    const started = performance.now();
    const measured = shape(`{ a { ...F0 } }\n${fragments}`);
    expect(measured.fields).toBe(Number.MAX_SAFE_INTEGER); // 2^59 selections, counted up to the cap
    expect(performance.now() - started).toBeLessThan(1_000); // linear, not 2^59 visits
  });

  it("gives graphql's token limit its own code", () => {
    expect(
      promoteTokenLimit({
        message: 'Syntax Error: Document contains more that 3000 tokens. Parsing aborted.',
        extensions: { code: 'GRAPHQL_PARSE_FAILED' },
      }).extensions?.code,
    ).toBe('MAX_TOKENS_EXCEEDED');
    expect(
      promoteTokenLimit({ message: 'Syntax Error: Expected Name', extensions: { code: 'GRAPHQL_PARSE_FAILED' } }).extensions?.code,
    ).toBe('GRAPHQL_PARSE_FAILED');
  });
});
