import { describe, expect, it } from 'vitest';
import { isPlainRead, localWalPositions, parseLsn } from './read-replica.js';

describe('read routing', () => {
  it('sends only lock-free SELECTs to the replica', () => {
    expect(isPlainRead('SELECT "id" FROM "Patient" WHERE "id" = ANY($1)')).toBe(true);
    expect(isPlainRead('  \n select 1')).toBe(true);
    // A leading comment is not looked behind (PostgreSQL's comments nest): the primary answers.
    expect(isPlainRead('/* /* */ select */ DELETE FROM "Consent"')).toBe(false);
    expect(isPlainRead('-- read\nSELECT 1')).toBe(false);
    expect(isPlainRead('SELECT * INTO backup FROM "Patient"')).toBe(false);
    expect(isPlainRead("SELECT nextval('seq')")).toBe(false);
    expect(isPlainRead('SELECT pg_advisory_lock(42)')).toBe(false);
    expect(isPlainRead('SELECT audit_event_ensure_partitions(3)')).toBe(false);
    expect(isPlainRead('SELECT "audit_event_ensure_partitions"($1::date, $2::date) AS created')).toBe(false);
    expect(isPlainRead('SELECT * FROM "Appointment" WHERE id = $1 FOR UPDATE')).toBe(false);
    expect(isPlainRead('select * from "Slot" for no key update skip locked')).toBe(false);
    expect(isPlainRead('SELECT 1 FOR SHARE')).toBe(false);
    expect(isPlainRead('INSERT INTO "Consent" ("id") VALUES ($1) RETURNING "id"')).toBe(false);
    expect(isPlainRead('WITH x AS (DELETE FROM "Consent" RETURNING *) SELECT * FROM x')).toBe(false);
    expect(isPlainRead('UPDATE "Patient" SET "phone" = $1')).toBe(false);
    expect(isPlainRead('selection')).toBe(false);
  });

  it('orders WAL positions as PostgreSQL does, across the 32-bit boundary', () => {
    expect(parseLsn('0/16B3740')).toBe(0x16b3740n);
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
    expect(() => parseLsn('')).toThrow(RangeError);
    expect(() => parseLsn('null')).toThrow(RangeError);
  });

  it('keeps the highest position published in one process', async () => {
    const positions = localWalPositions();
    await positions.publish(10n);
    await positions.publish(4n);
    expect(await positions.required()).toBe(10n);
  });
});
