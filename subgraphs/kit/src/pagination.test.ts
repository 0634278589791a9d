import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, MAX_PAGE_SIZE, pageSize, toConnection } from './pagination.js';

describe('pagination', () => {
  it('round-trips cursors and refuses forged ones', () => {
    expect(decodeCursor(encodeCursor(['Smith', 'Ava', 'pat-1']))).toEqual(['Smith', 'Ava', 'pat-1']);
    expect(() => decodeCursor('e30')).toThrow(/after/);
    expect(() => decodeCursor('!!!')).toThrow(/after/);
  });
  it('bounds page sizes, naming the argument', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(() => pageSize(MAX_PAGE_SIZE + 1)).toThrow(/"first"/);
    expect(() => pageSize(0, 'last')).toThrow(/"last"/);
  });
  it('reports a next page only when an extra row came back', () => {
    expect(toConnection([1, 2, 3], 2, (n) => [n]).pageInfo.hasNextPage).toBe(true);
    expect(toConnection([1, 2], 2, (n) => [n]).pageInfo).toEqual({ hasNextPage: false, endCursor: encodeCursor([2]) });
  });
});
