import { buildSchema, getOperationAST, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { actualCost, estimateCost, readCostRules } from './cost.js';

const SDL = `
  directive @cost(weight: Int!) on FIELD_DEFINITION
  directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
  type Query {
    patients(first: Int): [Patient!]! @listSize(slicingArguments: ["first"], assumedSize: 50)
    search(first: Int): Conn! @cost(weight: 10) @listSize(slicingArguments: ["first"], sizedFields: ["edges"], assumedSize: 20, requireOneSlicingArgument: false)
    plain: [Patient!]!
    recent(first: Int = 4): [Patient!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
    find(where: Where): Patient
  }
  input Where { a: Inner c: [Inner!] }
  input Inner { b: Int d: Int }
  type Conn { edges: [Edge!]! pageInfo: Info! }
  type Edge { node: Patient! cursor: String! }
  type Info { hasNext: Boolean! }
  type Patient { id: ID! name: String! summary: String @cost(weight: 2) allergies: [Allergy!]! @listSize(assumedSize: 5) notes(first: Int): [Note!]! @cost(weight: 3) @listSize(slicingArguments: ["first"], assumedSize: 10) }
  type Allergy { id: ID! code: Code! }
  type Code { display: String! }
  type Note { id: ID! }
  type Mutation { book: Patient! }
`;
const schema = buildSchema(SDL);
const rules = readCostRules(SDL);
const estimate = (query: string, variables?: Record<string, unknown>) => {
  const document = parse(query);
  return estimateCost(schema, rules, document, getOperationAST(document)!, variables);
};

describe('cost estimates, worked by hand', () => {
  it.each([
    ['a sliced list of objects: 3 x 1', '{ patients(first: 3) { name } }', 3],
    ['no slicing argument: the assumed size, 50 x 1', '{ patients { name } }', 50],
    ['nested lists: 3 x (1 + 5 x (1 + 1))', '{ patients(first: 3) { allergies { code { display } } } }', 33],
    ['nested slicing with a weight: 2 x (1 + 4 x 3)', '{ patients(first: 2) { notes(first: 4) { id } } }', 26],
    ['sizedFields: 10 + 7 x (1 + 1) + 1', '{ search(first: 7) { edges { node { name } } pageInfo { hasNext } } }', 25],
    ['sizedFields without the argument: 10 + 20 x (1 + 0)', '{ search { edges { cursor } } }', 30],
    ['a list without @listSize: 10 x 1', '{ plain { id } }', 10],
    ['a mutation: 10 for the operation + the book object 1', 'mutation { book { name } }', 11],
    ['input objects in arguments: 1 each, nested too: 1 + (1 + 1) + 1', '{ find(where: { a: { b: 1 }, c: [{ d: 2 }] }) { id } }', 4],
    ['a fragment: 2 x (1 + 5 x 1)', '{ patients(first: 2) { ...F } } fragment F on Patient { allergies { id } }', 12],
    ['scalars are free, objects are not: 10 + 5 x (1 + 0)', '{ search(first: 5) { edges { cursor } } }', 15],
  ])('%s', (_, query, expected) => {
    expect(estimate(query).cost).toBe(expected);
  });

  it('reads slicing arguments from variables, and says which', () => {
    expect(estimate('query($n: Int) { patients(first: $n) { name } }', { n: 12 })).toEqual({
      cost: 12,
      slicingVariables: ['n'],
      unsliced: [],
    });
    expect(estimate('query($n: Int) { patients(first: $n) { name } }', {}).cost).toBe(50);
  });

  it('prices a left-out variable by its default, and a null one by the assumed size', () => {
    const query = 'query($n: Int = 7) { patients(first: $n) { name } }';
    expect(estimate(query, {}).cost).toBe(7);
    expect(estimate(query, { n: null }).cost).toBe(50);
    expect(estimate(query, { n: 3 }).cost).toBe(3);
    expect(estimate('query($n: Int = null) { patients(first: $n) { name } }', {}).cost).toBe(50);
  });

  it("prices an argument left out by the field's own default", () => {
    expect(estimate('{ recent { id } }').cost).toBe(4);
    expect(estimate('query($n: Int) { recent(first: $n) { id } }', {}).cost).toBe(4);
    expect(estimate('{ recent(first: 2) { id } }').cost).toBe(2);
  });
});

describe('requireOneSlicingArgument', () => {
  it.each([
    ['no slicing argument', '{ patients { name } }', {}, ['Query.patients']],
    ['a literal', '{ patients(first: 2) { name } }', {}, []],
    ['a literal null', '{ patients(first: null) { name } }', {}, ['Query.patients']],
    ['a variable left out without a default', 'query($n: Int) { patients(first: $n) { name } }', {}, ['Query.patients']],
    ['a variable given', 'query($n: Int) { patients(first: $n) { name } }', { n: 3 }, []],
    ['a variable given as null', 'query($n: Int) { patients(first: $n) { name } }', { n: null }, ['Query.patients']],
    ['a variable left out with a default', 'query($n: Int = 3) { patients(first: $n) { name } }', {}, []],
    ['a nested list in a fragment', '{ patients(first: 1) { ...N } } fragment N on Patient { notes { id } }', {}, ['Patient.notes']],
    ['a field that does not require one', '{ search { edges { cursor } } }', {}, []],
    ['a list without slicing arguments', '{ patients(first: 1) { allergies { id } } }', {}, []],
  ])('%s', (_, query, variables, unsliced) => {
    expect(estimate(query, variables).unsliced).toEqual(unsliced);
  });

  it('counts what was actually returned', () => {
    const document = parse('{ patients(first: 3) { name allergies { id } } }');
    const data = {
      patients: [
        { name: 'a', allergies: [{ id: '1' }, { id: '2' }] },
        { name: 'b', allergies: [] },
      ],
    };
    // 2 patients x 1 + 2 allergies x 1, against an estimate of 3 x (1 + 5 x 1) = 18.
    expect(actualCost(schema, rules, document, getOperationAST(document)!, data)).toBe(4);
    expect(estimate('{ patients(first: 3) { name allergies { id } } }').cost).toBe(18);
  });

  it('counts a weighted scalar once per value returned, and a null not at all', () => {
    const document = parse('{ patients(first: 3) { summary } }');
    const data = { patients: [{ summary: 'a' }, { summary: null }, { summary: 'c' }] };
    // 3 patients x 1 + 2 summaries x 2.
    expect(actualCost(schema, rules, document, getOperationAST(document)!, data)).toBe(7);
  });

  it('prices a fragment bomb without expanding it', () => {
    const levels = 50;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1 ? `fragment F${i} on Patient { id notes { id } }` : `fragment F${i} on Patient { ...F${i + 1} ...F${i + 1} }`,
    ).join('\n');
    expect(estimate(`{ patients(first: 1) { ...F0 } }\n${fragments}`).cost).toBe(Number.MAX_SAFE_INTEGER);
  });
});
