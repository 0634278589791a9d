import type { PrismaClient } from '@healthgraph/db';
import type { Principal } from '@healthgraph/platform';
import type DataLoader from 'dataloader';
import { type Access, accessFor, createConsentLoader, createPatientAccessLoader, type Label } from './access.js';
import { RequestAudit } from './audit.js';
import type { ScopedCache } from './cache.js';

/** Data access already scoped to one request's principal: resolvers cannot forget a check. */
export interface ScopedData {
  prisma: PrismaClient;
  principal: Principal;
  access: Access;
  /** "May this caller see patient X?" (batched). */
  canSeePatient: DataLoader<string, boolean>;
  /** Labels the patient consented to share with this clinician (batched). */
  consentedLabels: DataLoader<string, ReadonlySet<Label>>;
  /** Whether loaders batch; false only for the naive benchmark baseline. */
  batch: boolean;
  /** The role-scoped read cache, absent when caching is off. */
  cache: ScopedCache | undefined;
  /** Views may go to the shared cache (false for break-glass: those stay in this process). */
  shareable: boolean;
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

/** Data access for one request, scoped by its principal. */
export function createScopedData(
  prisma: PrismaClient,
  principal: Principal,
  {
    batch,
    cache,
    requestId = 'local',
    correlationId = null,
  }: { batch: boolean; cache?: ScopedCache; requestId?: string; correlationId?: string | null },
): ScopedData {
  const options = { batch, cache };
  return {
    prisma,
    principal,
    access: accessFor(principal),
    canSeePatient: createPatientAccessLoader(prisma, principal, options),
    consentedLabels: createConsentLoader(prisma, principal, options),
    batch,
    cache,
    // Break-glass views stay in this process: never written to the shared cache.
    shareable: principal.purpose !== 'BTG',
    audit: new RequestAudit(principal, requestId, correlationId),
  };
}
