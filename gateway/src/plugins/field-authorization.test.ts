import { buildSchema, parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { nullAt, readFieldRules, type Segment, unauthorizedPaths, withoutUnauthorized } from './field-authorization.js';

const SDL = `
  directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
  interface Record { id: ID! detail: String }
  type Lab implements Record { id: ID! detail: String @requiresScopes(scopes: [["clinical:full"]]) }
  type Visit implements Record { id: ID! detail: String }
  type Person { id: ID! name: String records: [Record!]! secret: String! @requiresScopes(scopes: [["a"], ["b", "c"]]) }
  type Query { person: Person records: [Record!]! }
`;
const schema = buildSchema(SDL);
const rules = readFieldRules(SDL);
const paths = (query: string, held: string[]) =>
  unauthorizedPaths(schema, rules, new Set(held), parse(query)).map((p) => p.map((s) => s.key).join('.'));

describe('field authorization', () => {
  it('reads scope groups as any-of all-of', () => {
    expect(rules.get('Person.secret')).toEqual([['a'], ['b', 'c']]);
    expect(paths('{ person { secret } }', ['b'])).toEqual(['person.secret']);
    expect(paths('{ person { secret } }', ['b', 'c'])).toEqual([]);
    expect(paths('{ person { secret } }', ['a'])).toEqual([]);
  });

  it('guards a field read through an interface when any implementation guards it', () => {
    expect(paths('{ records { id detail } }', [])).toEqual(['records.detail']);
    expect(paths('{ records { ... on Visit { detail } } }', [])).toEqual([]);
    expect(paths('{ records { ... on Lab { d: detail } } }', [])).toEqual(['records.d']);
  });

  it('follows fragments without looping on repeated spreads', () => {
    expect(paths('{ person { ...A ...A } } fragment A on Person { s: secret }', [])).toEqual(['person.s']);
  });

  it('filters the document and fills emptied selections with a placeholder', () => {
    const filtered = print(withoutUnauthorized(schema, rules, new Set(), parse('{ person { secret } records { id } }')));
    expect(filtered).not.toContain('secret');
    expect(filtered).toContain('hgUnauthorized__: __typename');
    expect(filtered).toContain('records {\n    id');
  });

  it('propagates nulls like GraphQL execution: to the nearest nullable parent', () => {
    const seg = (key: string, nonNull: boolean, list = false, itemNonNull = false): Segment => ({ key, nonNull, list, itemNonNull });
    const data: Record<string, unknown> = { person: { id: '1', secret: 'x' } };
    expect(nullAt(data, [seg('person', false), seg('secret', true)])).toBe(false);
    expect(data).toEqual({ person: null });
    const list: Record<string, unknown> = { people: [{ s: 'x' }, { s: 'y' }] };
    expect(nullAt(list, [seg('people', true, true, true), seg('s', true)])).toBe(true);
    expect(list.people).toBeNull();
    const nullableItems: Record<string, unknown> = { people: [{ s: 'x' }] };
    expect(nullAt(nullableItems, [seg('people', true, true, false), seg('s', true)])).toBe(false);
    expect(nullableItems.people).toEqual([null]);
  });

  it('refuses to load a rule it would not enforce (type-level), instead of ignoring it', () => {
    expect(() => readFieldRules(`${SDL} type Hidden @requiresScopes(scopes: [["x"]]) { id: ID }`)).toThrow(/type Hidden/);
  });
});
