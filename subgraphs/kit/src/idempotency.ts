import { createHash } from 'node:crypto';
import { Prisma, type PrismaClient } from '@healthgraph/db';
import { badUserInput, idempotencyKeyReused } from '@healthgraph/platform';

/** Idempotency keys: what a client library makes (UUIDs, ULIDs and the like). */
const KEY = /^[A-Za-z0-9._:-]{8,128}$/;

/** A client's idempotency key, checked at the boundary; `argument` names where it came from in the error. */
export function idempotencyKeyOf(value: string, argument: string): string {
  const key = value.trim();
  if (!KEY.test(key)) throw badUserInput(argument, 'must be 8 to 128 letters, digits, ".", "_", ":" or "-"');
  return key;
}

/** Whether a Prisma error is a violation of `code` (P2002 unique, P2003 foreign key) naming `column`. */
export const isViolation = (error: unknown, code: 'P2002' | 'P2003', column: string): boolean =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === code && JSON.stringify(error.meta ?? {}).includes(column);

/** JSON with object keys sorted, so the same request always hashes the same. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );

type Tx = Prisma.TransactionClient;

export interface IdempotentWrite<T> {
  /** The caller the key belongs to (keys are per caller: one caller's key never replays another's write). */
  actor: string;
  /** The mutation, e.g. `Mutation.grantConsent`: a key used for one operation cannot replay another. */
  operation: string;
  /** The client's key; null for a write that is idempotent by nature (a revocation, a contact update) sent without one. */
  key: string | null;
  /** Everything that decides what the write does; a retry must send the same. */
  request: unknown;
  /** Does the write inside the transaction (audit included) and returns the ids of what it made or changed. */
  write: (tx: Tx) => Promise<string[]>;
  /** Reads the answer for those ids (the first time and on every replay). */
  read: (ids: string[]) => Promise<T>;
}

/**
 * Runs a write at most once per caller and key. The transaction inserts the key's record before
 * anything else, so a concurrent retry blocks on that row and, once the first commits, fails on
 * the primary key and replays; if the first rolls back, the retry does the write itself. A retry
 * after a commit finds the record and replays without writing. The record and the write commit
 * together, so a failed write leaves no key behind and no partial state.
 */
export async function idempotent<T>(prisma: PrismaClient, spec: IdempotentWrite<T>): Promise<{ value: T; replayed: boolean }> {
  if (spec.key === null) return { value: await spec.read(await prisma.$transaction((tx) => spec.write(tx))), replayed: false };
  const key = spec.key;
  const requestHash = createHash('sha256')
    .update(`${spec.operation}\u0000${canonical(spec.request)}`)
    .digest('hex');
  const where = { actorSub_key: { actorSub: spec.actor, key } };
  const replay = async (): Promise<{ value: T; replayed: boolean } | null> => {
    const record = await prisma.idempotencyRecord.findUnique({ where });
    if (!record) return null;
    if (record.operation !== spec.operation || record.requestHash !== requestHash) throw idempotencyKeyReused();
    return { value: await spec.read(record.resultIds), replayed: true };
  };
  const previous = await replay();
  if (previous) return previous;
  try {
    const ids = await prisma.$transaction(async (tx) => {
      await tx.idempotencyRecord.create({
        data: { actorSub: spec.actor, key, operation: spec.operation, requestHash, resultIds: [] },
      });
      const made = await spec.write(tx);
      await tx.idempotencyRecord.update({ where, data: { resultIds: made } });
      return made;
    });
    return { value: await spec.read(ids), replayed: false };
  } catch (error) {
    // A concurrent retry with this key committed first: its answer is this one's.
    if (isViolation(error, 'P2002', 'key') || isViolation(error, 'P2002', 'actorSub')) {
      const winner = await replay();
      if (winner) return winner;
    }
    throw error;
  }
}
