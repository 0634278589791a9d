import { buildSchema, getOperationAST, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { findInvalidArgument } from './input-validation.js';

const schema = buildSchema(`
  scalar JSON
  directive @tag(name: String) on FIELD
  input Filter { name: String ids: [ID!] inner: Inner list: [[String]] }
  input Inner { note: String deeper: [Inner!] }
  type Query {
    find(id: ID!, filter: Filter, tags: [String!], raw: JSON, count: Int, kind: Kind): Item
    items(after: String): [Item!]!
  }
  enum Kind { A B }
  type Item { id: ID! children(after: String): [Item!]! }
`);

const check = (query: string, variables: Record<string, unknown> = {}, bounds = {}) => {
  const document = parse(query);
  return findInvalidArgument(schema, document, getOperationAST(document)!, variables, bounds);
};
const NUL = 'a\u0000b';
const SURROGATE = 'a\udc00b';

describe('finding string arguments no store can keep', () => {
  it.each([
    ['a literal id', `{ find(id: ${JSON.stringify(NUL)}) { id } }`, {}, 'id'],
    ['a variable id', 'query($v: ID!) { find(id: $v) { id } }', { v: NUL }, 'id'],
    [
      'a nested input field by literal',
      `{ find(id: "1", filter: { inner: { note: ${JSON.stringify(NUL)} } }) { id } }`,
      {},
      'filter.inner.note',
    ],
    [
      'a nested input field by variable',
      'query($f: Filter) { find(id: "1", filter: $f) { id } }',
      { f: { inner: { note: SURROGATE } } },
      'filter.inner.note',
    ],
    [
      'a list item by variable',
      'query($f: Filter) { find(id: "1", filter: $f) { id } }',
      { f: { ids: ['ok', SURROGATE] } },
      'filter.ids[1]',
    ],
    ['a variable inside a literal list', 'query($t: String!) { find(id: "1", tags: ["ok", $t]) { id } }', { t: NUL }, 'tags[1]'],
    ['a single value for a list', 'query($t: String) { find(id: "1", tags: $t) { id } }', { t: NUL }, 'tags'],
    [
      'a list of lists',
      'query($f: Filter) { find(id: "1", filter: $f) { id } }',
      { f: { list: [['ok'], [null, NUL]] } },
      'filter.list[1][1]',
    ],
    [
      'a recursive input',
      'query($f: Filter) { find(id: "1", filter: $f) { id } }',
      { f: { inner: { deeper: [{ deeper: [{ note: NUL }] }] } } },
      'filter.inner.deeper[0].deeper[0].note',
    ],
    ['a left-out variable by its default', 'query($v: String = "a\\u0000") { items(after: $v) { id } }', {}, 'after'],
    ['a nested field argument', 'query($v: String) { items { children(after: $v) { id } } }', { v: NUL }, 'after'],
    ['a fragment', 'query($v: String) { ...F } fragment F on Query { items(after: $v) { id } }', { v: NUL }, 'after'],
    ['an inline fragment', 'query($v: String) { ... on Query { items(after: $v) { id } } }', { v: NUL }, 'after'],
    ['a directive argument', 'query($v: String) { items @tag(name: $v) { id } }', { v: SURROGATE }, 'name'],
    ['a string inside a custom scalar', 'query($r: JSON) { find(id: "1", raw: $r) { id } }', { r: { a: [{ b: NUL }] } }, 'raw'],
  ])('in %s', (_, query, variables, path) => {
    expect(check(query, variables)?.path).toBe(path);
  });

  it('checks a string sent for any scalar, even one that will refuse it: GraphQL would echo it back', () => {
    expect(check('query($c: Int) { find(id: "1", count: $c) { id } }', { c: NUL })?.path).toBe('count');
  });

  it('names the field or directive and never the value', () => {
    expect(check('query($v: String) { items @tag(name: $v) { id } }', { v: NUL })).toEqual({
      coordinate: '@tag',
      path: 'name',
      reason: expect.stringContaining('NUL'),
    });
    const found = check('query($f: Filter) { find(id: "1", filter: $f) { id } }', { f: { name: `secret${NUL}` } });
    expect(found).toMatchObject({ coordinate: 'Query.find', path: 'filter.name' });
    expect(JSON.stringify(found)).not.toContain('secret');
  });

  it('holds ids and strings to their bounds', () => {
    expect(check('query($v: ID!) { find(id: $v) { id } }', { v: 'x'.repeat(200) })).toBeUndefined();
    expect(check('query($v: ID!) { find(id: $v) { id } }', { v: 'x'.repeat(201) })?.reason).toMatch(/201 characters.*at most 200/);
    expect(check('query($v: String) { items(after: $v) { id } }', { v: 'x'.repeat(10_000) })).toBeUndefined();
    expect(check('query($v: String) { items(after: $v) { id } }', { v: 'x'.repeat(10_001) })?.path).toBe('after');
    expect(check('query($v: String) { items(after: $v) { id } }', { v: 'xxxx' }, { maxStringLength: 3 })?.path).toBe('after');
  });

  it('lets everything else through', () => {
    expect(check('{ find(id: "pat-1", tags: ["a"], count: 3, kind: A) { id children(after: "c") { id } } }')).toBeUndefined();
    expect(check('query($v: String) { items(after: $v) { id } }', { v: 'emoji \ud83d\ude00 and é' })).toBeUndefined();
    // Values of the wrong shape, or under keys the type does not declare, are left to GraphQL's coercion.
    expect(check('query($f: Filter) { find(id: "1", filter: $f) { id } }', { f: { unknown: NUL } })).toBeUndefined();
    expect(check('query($f: Filter) { find(id: "1", filter: $f) { id } }', { f: NUL })).toBeUndefined();
    // A value nested far deeper than any input type is not walked without end.
    let deep: Record<string, unknown> = { note: NUL };
    for (let i = 0; i < 10_000; i++) deep = { deeper: [deep] };
    expect(() => check('query($f: Filter) { find(id: "1", filter: $f) { id } }', { f: { inner: deep } })).not.toThrow();
  });
});
