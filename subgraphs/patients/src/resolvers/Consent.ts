import type { Consent as ConsentRow } from '@healthgraph/db';
import { consentInForce } from '@healthgraph/kit';
import { type GrantConsentInput, grantConsent, myConsents, revokeConsent } from '../consent.js';
import type { Context } from '../context.js';

export const Consent = {
  patient: (c: ConsentRow, _: unknown, { loaders }: Context) => loaders.patientById.load(c.patientId),
  provider: (c: ConsentRow) => ({ __typename: 'Provider', id: c.providerId }),
  until: (c: ConsentRow) => c.validUntil,
  active: (c: ConsentRow) => consentInForce(c),
};

export const ConsentQuery = {
  myConsents: (_: unknown, { includeInactive }: { includeInactive?: boolean | null }, { data }: Context) =>
    myConsents(data, includeInactive === true),
};

export const ConsentMutation = {
  grantConsent: (_: unknown, { input }: { input: GrantConsentInput }, { data }: Context) => grantConsent(data, input),
  revokeConsent: (_: unknown, { id, idempotencyKey }: { id: string; idempotencyKey?: string | null }, { data }: Context) =>
    revokeConsent(data, id, idempotencyKey),
};
