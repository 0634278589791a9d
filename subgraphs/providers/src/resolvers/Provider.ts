import type { Provider as ProviderRow } from '@healthgraph/db';
import type { Context } from '../context.js';

export const Provider = {
  __resolveReference: (ref: { id: string }, { loaders }: Context) => loaders.providerById.load(ref.id),
  name: (p: ProviderRow) => ({ given: p.givenName, family: p.familyName, text: `${p.givenName} ${p.familyName}` }),
};
