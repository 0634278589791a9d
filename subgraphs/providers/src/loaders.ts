import type { Provider } from '@healthgraph/db';
import { byKey, createLoader, readThrough, type ScopedData } from '@healthgraph/kit';

export type Loaders = ReturnType<typeof createLoaders>;

/** The provider directory is not PHI: every authenticated role may read it. */
export function createLoaders({ prisma, batch, cache }: ScopedData) {
  return {
    providerById: createLoader<string, Provider | null>(batch, (ids) =>
      readThrough<Provider>(cache, 'provider', ids, {
        key: (id) => `provider:${id}`,
        tags: (id) => [`provider:${id}`],
        shareable: () => true,
        load: async (missing) => byKey(missing, await prisma.provider.findMany({ where: { id: { in: missing } } }), (p) => p.id),
      }),
    ),
  };
}
