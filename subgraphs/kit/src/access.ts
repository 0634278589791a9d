import type { PrismaClient } from '@healthgraph/db';
import { fieldError, isUnavailable } from '@healthgraph/platform';
import DataLoader from 'dataloader';
import { readThrough, type ScopedCache } from './cache.js';
import { activeConsentAt, activeMembershipAt, type Label, type Policy } from './policy.js';

/**
 * The per-request loaders that answer the policy's questions about relationships, batched: "may
 * this caller see patient X?" and "which labels did patient X consent to share with this caller?".
 */

/** One statement per batch for a care-team clinician (cached per clinician and patient), none for the other reaches. */
export function createPatientAccessLoader(
  prisma: PrismaClient,
  policy: Policy,
  options: { batch: boolean; cache?: ScopedCache },
): DataLoader<string, boolean> {
  const { principal, reach } = policy;
  return new DataLoader<string, boolean>(
    async (ids) => {
      if (reach === 'all') return ids.map(() => true);
      if (reach === 'none') return ids.map(() => false);
      if (reach === 'self') return ids.map((id) => id === principal.sub);
      // One clinician's relationship to one patient: cached per pair, never shared between clinicians.
      const answers = await readThrough<{ member: boolean }>(options.cache, 'relationship', ids, {
        key: (id) => `care-team:${principal.sub}:${id}`,
        tags: (id) => [`careteam:${id}`],
        shareable: () => policy.shareable,
        load: async (missing) => {
          // Raw SQL with one array parameter: the hottest statement of a clinician's request, where
          // Prisma's query builder cost more CPU than the query (README, Benchmarks).
          const rows = await prisma.$queryRaw<{ patientId: string }[]>`
            SELECT DISTINCT c."patientId" FROM "CareTeamMember" c
            WHERE c."providerId" = ${principal.sub} AND c."patientId" = ANY(${missing}) AND ${activeMembershipAt('c', new Date())}`;
          const visible = new Set(rows.map((row) => row.patientId));
          return missing.map((id) => ({ member: visible.has(id) }));
        },
      });
      return answers.map((answer) => answer?.member === true);
    },
    { batch: options.batch, cache: options.batch },
  );
}

/**
 * The labels each patient consented to share with this caller (42 CFR Part 2 for ETH, state law
 * for HIV, PSY and GDIS): one statement per batch, and only for callers the policy limits to
 * consented labels through a relationship.
 */
export function createConsentLoader(
  prisma: PrismaClient,
  policy: Policy,
  options: { batch: boolean },
): DataLoader<string, ReadonlySet<Label>> {
  const needsConsent = policy.labels === 'consented' && policy.relationshipBound;
  return new DataLoader<string, ReadonlySet<Label>>(
    async (patientIds) => {
      if (!needsConsent) return patientIds.map(() => new Set<Label>());
      const rows = await prisma.$queryRaw<{ patientId: string; label: Label }[]>`
        SELECT k."patientId", k."label"::text AS "label" FROM "Consent" k
        WHERE k."providerId" = ${policy.principal.sub} AND k."patientId" = ANY(${[...patientIds]}) AND ${activeConsentAt('k', new Date())}`;
      const byPatient = new Map<string, Set<Label>>();
      for (const row of rows) {
        const labels = byPatient.get(row.patientId) ?? new Set<Label>();
        labels.add(row.label);
        byPatient.set(row.patientId, labels);
      }
      return patientIds.map((id) => byPatient.get(id) ?? new Set<Label>());
    },
    { batch: options.batch, cache: options.batch },
  );
}

/** A dependency failed: retryable, and never to be taken for "not found" (which would also be audited as a refusal). */
export const serviceUnavailable = () =>
  fieldError('SERVICE_UNAVAILABLE', 'A service this answer depends on is unavailable: try again shortly');

/**
 * DataLoader.loadMany, but a failure is a failure: DataLoader puts an Error in the slot of every key
 * whose batch failed, and taking that for "no" would report a database outage as absence.
 */
export async function loadAll<K, V>(loader: DataLoader<K, V, unknown>, keys: readonly K[]): Promise<V[]> {
  const results = await loader.loadMany(keys);
  const failure = results.find((result): result is Error => result instanceof Error);
  if (failure) throw asServiceError(failure);
  return results as V[];
}

/** An unreachable or failing database as SERVICE_UNAVAILABLE; anything else as it is (coded errors pass, the rest is masked). */
export function asServiceError(error: unknown): Error {
  if (isUnavailable(error)) return serviceUnavailable();
  return error instanceof Error ? error : new Error(String(error));
}
