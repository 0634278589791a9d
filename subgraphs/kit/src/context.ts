import type { PrismaClient } from '@healthgraph/db';
import type { Principal } from '@healthgraph/platform';
import type DataLoader from 'dataloader';
import { createConsentLoader, createPatientAccessLoader } from './access.js';
import { RequestAudit } from './audit.js';
import type { ScopedCache } from './cache.js';
import { type Label, type Policy, policyFor } from './policy.js';

/** Data access already scoped to one request's principal: resolvers cannot forget a check. */
export interface ScopedData {
  prisma: PrismaClient;
  principal: Principal;
  /** What this caller may reach, read, see and do: the one policy every data layer asks. */
  policy: Policy;
  /** "May this caller see patient X?" (batched). */
  canSeePatient: DataLoader<string, boolean>;
  /** Labels the patient consented to share with this caller (batched). */
  consentedLabels: DataLoader<string, ReadonlySet<Label>>;
  /** Whether loaders batch; false only for the naive benchmark baseline. */
  batch: boolean;
  /** The role-scoped read cache, absent when caching is off. */
  cache: ScopedCache | undefined;
  /** Refusals (and writes) of this request, recorded beside each decision. */
  audit: RequestAudit;
}

/** Built once per request. Loaders are never shared between requests. */
export interface SubgraphContext<L> {
  principal: Principal;
  /** The gateway's id for the request. */
  requestId: string;
  /** The client's own x-request-id, as the gateway passed it on. */
  correlationId: string | null;
  data: ScopedData;
  loaders: L;
}

export interface ScopedDataOptions {
  batch: boolean;
  cache?: ScopedCache;
  requestId?: string;
  correlationId?: string | null;
  /** The policy a principal gets (policyFor); replaced only by tests that take a wall away to show the next one holds. */
  policy?: (principal: Principal) => Policy;
}

/** Data access for one request, scoped by its principal. */
export function createScopedData(
  prisma: PrismaClient,
  principal: Principal,
  { batch, cache, requestId = 'local', correlationId = null, policy: policyOf = policyFor }: ScopedDataOptions,
): ScopedData {
  const policy = policyOf(principal);
  const options = { batch, cache };
  return {
    prisma,
    principal,
    policy,
    canSeePatient: createPatientAccessLoader(prisma, policy, options),
    consentedLabels: createConsentLoader(prisma, policy, options),
    batch,
    cache,
    audit: new RequestAudit(principal, requestId, correlationId),
  };
}
