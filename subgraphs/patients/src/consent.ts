import { randomUUID } from 'node:crypto';
import type { Consent } from '@healthgraph/db';
import { activeConsent, idempotencyKeyOf, idempotent, type Label, type ScopedData } from '@healthgraph/kit';
import { auditInTransaction, badUserInput, forbidden, notFound } from '@healthgraph/platform';

/**
 * Consent management: a patient lets one provider see their records carrying one sensitivity label
 * (45 CFR 164.522 restrictions; 42 CFR Part 2 for substance use), and withdraws it at any time.
 * Consent is never cached: every request that needs it reads it from the database (in the policy's
 * consent loader and inside the clinical statements), so a revocation holds on the very next
 * request on every replica.
 */

export interface GrantConsentInput {
  providerId: string;
  label: Exclude<Label, 'NONE'>;
  until?: Date | null;
  idempotencyKey: string;
}

/** Only the patient themself manages their consents; a refusal is recorded. */
function patientManaging(data: ScopedData, coordinate: string): string {
  if (!data.policy.mayManageConsent || !data.policy.self) {
    data.audit.denied(null, 'Consent', coordinate);
    throw forbidden('consents are granted and revoked by the patient themself');
  }
  return data.policy.self;
}

/** PATIENT: my consents, newest first; revoked and lapsed ones only when asked for. */
export function myConsents(data: ScopedData, includeInactive: boolean): Promise<Consent[]> {
  const patientId = patientManaging(data, 'Query.myConsents');
  return data.prisma.consent.findMany({
    where: { patientId, ...(includeInactive ? {} : activeConsent(new Date())) },
    orderBy: [{ grantedAt: 'desc' }, { id: 'asc' }],
  });
}

/** Grants (or renews) a consent; a second grant for the same provider and label renews the one row. */
export async function grantConsent(data: ScopedData, input: GrantConsentInput): Promise<Consent> {
  const coordinate = 'Mutation.grantConsent';
  const patientId = patientManaging(data, coordinate);
  const key = idempotencyKeyOf(input.idempotencyKey, 'input.idempotencyKey');
  const now = new Date();
  if (input.until && input.until.getTime() <= now.getTime()) throw badUserInput('input.until', 'must be in the future');
  const { prisma } = data;
  const provider = await prisma.provider.findUnique({ where: { id: input.providerId }, select: { id: true } });
  if (!provider) throw notFound('Provider', input.providerId);
  const { value } = await idempotent(prisma, {
    actor: data.principal.sub,
    operation: coordinate,
    key,
    request: { providerId: input.providerId, label: input.label, until: input.until?.toISOString() ?? null },
    write: async (tx) => {
      // One statement decides concurrent grants of the same consent: insert, or renew the row that is there.
      const [row] = await tx.$queryRaw<{ id: string }[]>`
          INSERT INTO "Consent" ("id", "patientId", "providerId", "label", "grantedAt", "validUntil", "revokedAt")
          VALUES (${`cns-${randomUUID()}`}, ${patientId}, ${input.providerId}, ${input.label}::"SensitivityLabel", ${now}, ${input.until ?? null}, NULL)
          ON CONFLICT ("patientId", "providerId", "label")
          DO UPDATE SET "grantedAt" = EXCLUDED."grantedAt", "validUntil" = EXCLUDED."validUntil", "revokedAt" = NULL
          RETURNING "id"`;
      await auditInTransaction(tx, [data.audit.written(patientId, 'Consent', coordinate, row!.id, ['provider', 'label', 'until'])]);
      return [row!.id];
    },
    read: ([id]) => prisma.consent.findUniqueOrThrow({ where: { id: id! } }),
  });
  return value;
}

/** Revokes a consent of mine at once; revoking a revoked (or lapsed) consent answers it unchanged. */
export async function revokeConsent(data: ScopedData, id: string, idempotencyKey: string | null | undefined): Promise<Consent> {
  const coordinate = 'Mutation.revokeConsent';
  const patientId = patientManaging(data, coordinate);
  const key = idempotencyKey == null ? null : idempotencyKeyOf(idempotencyKey, 'idempotencyKey');
  const { prisma } = data;
  // Another patient's consent is not found, exactly as one that does not exist.
  const consent = await prisma.consent.findFirst({ where: { id, patientId } });
  if (!consent) {
    data.audit.denied(patientId, 'Consent', coordinate, id);
    throw notFound('Consent', id);
  }
  const { value } = await idempotent(prisma, {
    actor: data.principal.sub,
    operation: coordinate,
    key,
    request: { id },
    write: async (tx) => {
      // Conditional: of two concurrent revocations one changes the row and is recorded, the other answers it.
      const { count } = await tx.consent.updateMany({ where: { id, patientId, revokedAt: null }, data: { revokedAt: new Date() } });
      if (count > 0) await auditInTransaction(tx, [data.audit.written(patientId, 'Consent', coordinate, id, ['revokedAt'])]);
      return [id];
    },
    read: () => prisma.consent.findUniqueOrThrow({ where: { id } }),
  });
  return value;
}
