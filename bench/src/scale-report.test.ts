import { describe, expect, it } from 'vitest';
import { databaseName, RARE_PREFIXES, refusal, smallDatabaseUrl, spreadPatients } from './scale.js';
import {
  answerCode,
  fmtShort,
  isExplainable,
  judgeTargets,
  partitionIndexes,
  readExplain,
  type ScaleOperation,
  type ScaleSize,
  summariseLoad,
  summariseSql,
} from './scale-report.js';

const explainOutput = [
  {
    Plan: {
      'Node Type': 'Limit',
      'Shared Hit Blocks': 12,
      'Shared Read Blocks': 3,
      Plans: [
        {
          'Node Type': 'Bitmap Heap Scan',
          Plans: [
            {
              'Node Type': 'BitmapOr',
              Plans: [
                { 'Node Type': 'Bitmap Index Scan', 'Index Name': 'Patient_givenName_trgm_idx' },
                { 'Node Type': 'Bitmap Index Scan', 'Index Name': 'Patient_familyName_trgm_idx' },
              ],
            },
          ],
        },
      ],
    },
    'Planning Time': 0.25,
    'Execution Time': 1.5,
  },
];

function size(patients: number, ops: [string, number, number, number][]): ScaleSize {
  return {
    patients,
    providers: 10,
    auditRows: patients * 10,
    seedSeconds: 1,
    auditSeconds: 1,
    vacuumSeconds: 1,
    seededAt: '2026-12-02T06:00:00.000Z',
    reused: false,
    tables: [],
    databaseBytes: 0,
    operations: ops.map(([name, p50, p99, sqlMax]) => ({
      name,
      operation: name,
      gateway: { requests: 100, seconds: 10, throughput: 10, p50, p99, errors: {} },
      sql: {
        statements: 1,
        p50Ms: sqlMax,
        maxMs: sqlMax,
        planningMs: 0,
        slowest: {} as ScaleOperation['sql']['slowest'],
        samples: 3,
        statementsOfSlowest: [],
      },
    })),
  };
}

describe('the scale scenario', () => {
  it('refuses the embedded database and databases that are not scratch ones, with the reason', () => {
    expect(refusal(undefined)).toMatch(/PostgreSQL only: set DATABASE_URL to a scratch database/);
    expect(refusal('postgresql://postgres@127.0.0.1:5432/postgres')).toMatch(/not "postgres"/);
    expect(refusal('postgresql://postgres@127.0.0.1:5432')).toMatch(/scratch database/);
    expect(refusal('postgresql://postgres@127.0.0.1:5432/healthgraph_scale')).toBeUndefined();
    expect(databaseName('postgresql://u@h:5432/health%20graph?sslmode=disable')).toBe('health graph');
  });

  it('keeps the small size in a sibling database on the same server, with the same settings', () => {
    expect(smallDatabaseUrl('postgresql://postgres@127.0.0.1:5432/healthgraph_scale?sslmode=disable')).toBe(
      'postgresql://postgres@127.0.0.1:5432/healthgraph_scale_small?sslmode=disable',
    );
  });

  it('draws distinct patients spread over the whole range, the same every run', () => {
    const drawn = spreadPatients(1_000_000, 200, 11);
    expect(new Set(drawn).size).toBe(200);
    expect(drawn).toEqual(spreadPatients(1_000_000, 200, 11));
    expect(Math.min(...drawn)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...drawn)).toBeLessThanOrEqual(1_000_000);
    // Spread, not clustered at the low ids a small seed also has.
    expect(drawn.filter((p) => p > 500_000).length).toBeGreaterThan(60);
    expect(spreadPatients(5, 200, 11).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('searches rare prefixes from the long tail of surnames', () => {
    expect(RARE_PREFIXES.length).toBeGreaterThanOrEqual(5);
    for (const prefix of RARE_PREFIXES) expect(prefix).toMatch(/^[A-Z][a-z]{6}$/);
  });
});

describe('the scale report', () => {
  it('takes an answer as a success only when its root field is there', () => {
    expect(answerCode(200, '{"data":{"patient":{"id":"pat-1"}}}', 'patient')).toBeUndefined();
    expect(answerCode(200, '{"data":{"patient":null},"errors":[{"extensions":{"code":"NOT_FOUND"}}]}', 'patient')).toBe('NOT_FOUND');
    expect(answerCode(200, '{"data":{"patient":null}}', 'patient')).toBe('NO_DATA');
    expect(answerCode(503, '{}', 'patient')).toBe('HTTP_503');
    expect(answerCode(200, 'not json', 'patient')).toBe('BAD_JSON');
  });

  it('reads execution time, buffers, node types and indexes from EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)', () => {
    expect(readExplain(explainOutput)).toEqual({
      executionMs: 1.5,
      planningMs: 0.25,
      sharedHit: 12,
      sharedRead: 3,
      nodes: ['Bitmap Heap Scan', 'Bitmap Index Scan', 'BitmapOr', 'Limit'],
      indexes: ['Patient_familyName_trgm_idx', 'Patient_givenName_trgm_idx'],
    });
    expect(() => readExplain([{ Plan: { 'Node Type': 'Result' } }])).toThrow(/not an EXPLAIN/);
  });

  it('explains reads only, never a write that EXPLAIN ANALYZE would perform', () => {
    expect(isExplainable('SELECT "id" FROM "Patient" WHERE "id" = $1')).toBe(true);
    expect(isExplainable('  WITH t AS (SELECT 1) SELECT * FROM t')).toBe(true);
    expect(isExplainable('INSERT INTO "AuditEvent" ("id") VALUES ($1)')).toBe(false);
    expect(isExplainable('WITH d AS (DELETE FROM "X" RETURNING 1) SELECT * FROM d')).toBe(false);
    expect(isExplainable('BEGIN')).toBe(false);
  });

  it('sums the statements of each sampled request and reports the slowest one', () => {
    const e = (executionMs: number) => ({ ...readExplain(explainOutput), executionMs });
    const sql = summariseSql([
      [
        { sql: 'a', explained: e(1) },
        { sql: 'b', explained: e(2) },
      ],
      [
        { sql: 'a', explained: e(1) },
        { sql: 'c', explained: e(7) },
      ],
      [{ sql: 'a', explained: e(0.5) }],
    ]);
    expect(sql).toMatchObject({ statements: 2, p50Ms: 3, maxMs: 8, samples: 3 });
    expect(sql.slowest).toMatchObject({ sql: 'c', executionMs: 7 });
    expect(sql.statementsOfSlowest.map((s) => s.sql)).toEqual(['a', 'c']);
  });

  it('merges runs into p50, p99 and errors by code, timeouts included', () => {
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1);
    const load = summariseLoad([{ seconds: 10, latencies, errors: { NOT_FOUND: 2 }, timeouts: 1 }]);
    expect(load).toMatchObject({ requests: 100, throughput: 10, p50: 50, p99: 99, errors: { NOT_FOUND: 2, TIMEOUT: 1 } });
  });

  it('judges the large size against the small one: 20% on gateway p50 and p99, 10 ms for a rare prefix', () => {
    const small = size(2000, [
      ['patient lookup', 10, 20, 0.1],
      ['name search, rare prefix', 10, 20, 0.2],
    ]);
    const verdicts = judgeTargets(
      small,
      size(1_000_000, [
        ['patient lookup', 11.9, 24, 0.1],
        ['name search, rare prefix', 12.5, 20, 12],
      ]),
    );
    expect(verdicts.map((v) => [v.target.split(':')[0], v.met])).toEqual([
      ['rare-prefix search under 10 ms in the database at 1,000,000 patients', false],
      ['patient lookup', true],
      ['name search, rare prefix', false],
    ]);
  });

  it("names the monthly partitions' indexes once, with how many months", () => {
    const names = ['AuditEvent_202501_patientId_at_idx', 'AuditEvent_202502_patientId_at_idx', 'AuditEvent_default_at_idx', 'Patient_pkey'];
    expect(partitionIndexes(names)).toEqual(['AuditEvent_YYYYMM_patientId_at_idx (2 months)', 'AuditEvent_default_at_idx', 'Patient_pkey']);
  });

  it('names sizes shortly', () => {
    expect([fmtShort(2000), fmtShort(1_000_000), fmtShort(1234)]).toEqual(['2k', '1M', '1,234']);
  });
});
