import { describe, expect, it } from 'vitest';
import { negotiateCoding } from './compression.js';

describe('choosing a content coding from Accept-Encoding', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['gzip, deflate, br', 'br'],
    ['gzip', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['gzip;q=1.0, br;q=0.5', 'gzip'],
    ['br;q=0.8, gzip;q=0.8', 'br'],
    ['*', 'br'],
    ['*;q=0.5, br;q=0', 'gzip'],
    ['identity', undefined],
    ['identity, *;q=0', undefined],
    ['deflate', undefined],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    ['br;q=banana', 'br'],
  ])('%j gives %j', (header, coding) => {
    expect(negotiateCoding(header)).toBe(coding);
  });
});
