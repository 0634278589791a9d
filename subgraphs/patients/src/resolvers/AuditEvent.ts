import type { AuditEvent as AuditRow, Prisma } from '@healthgraph/db';
import { decodeTimeCursor, pageSize, timeCursorOf, toConnection } from '@healthgraph/kit';
import { badUserInput, forbidden } from '@healthgraph/platform';
import type { Context } from '../context.js';

interface Page {
  first?: number | null;
  after?: string | null;
}

/**
 * Newest first, keyset-paged on (at, id). AuditEvent is partitioned by month on `at`: every bound
 * on `at` is stated on its own (not only inside the keyset OR) so the planner prunes the months a
 * page cannot reach, and within the rest walks each month's (patientId, at) or (at) index backwards
 * until the page is full.
 */
async function auditPage({ data }: Context, where: Prisma.AuditEventWhereInput, { first, after }: Page) {
  const size = pageSize(first);
  const cursor = decodeTimeCursor(after);
  const conditions: Prisma.AuditEventWhereInput[] = [where];
  if (cursor) {
    const [at, id] = cursor;
    conditions.push({ at: { lte: at } }, { OR: [{ at: { lt: at } }, { at, id: { lt: id } }] });
  }
  const rows = await data.prisma.auditEvent.findMany({
    where: { AND: conditions },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    take: size + 1,
  });
  return toConnection(rows, size, (e: AuditRow) => timeCursorOf(e.at, e.id));
}

export const AuditEvent = {
  actor: (e: AuditRow) => e.actorSub,
  role: (e: AuditRow) => e.actorRole,
};

export const AuditQuery = {
  auditEvents: (_: unknown, args: Page & { patientId?: string | null; from?: Date | null; to?: Date | null }, context: Context) => {
    if (args.from && args.to && args.to <= args.from) throw badUserInput('to', 'must be after from');
    return auditPage(
      context,
      {
        ...(args.patientId ? { patientId: args.patientId } : {}),
        at: { ...(args.from ? { gte: args.from } : {}), ...(args.to ? { lt: args.to } : {}) },
      },
      args,
    );
  },

  myAccessLog: (_: unknown, args: Page, context: Context) => {
    if (!context.data.policy.mayReadOwnAccessLog) {
      context.data.audit.denied(null, 'AuditEvent', 'Query.myAccessLog');
      throw forbidden('myAccessLog is the accounting of disclosures for the patient themself');
    }
    // What others saw of my record; my own reads are not disclosures.
    return auditPage(context, { patientId: context.data.policy.self!, actorSub: { not: context.principal.sub } }, args);
  },
};
