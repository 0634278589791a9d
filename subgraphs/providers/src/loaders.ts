import { byKey, createLoader, type ScopedData } from '@healthgraph/kit';
import type { Provider } from '@healthgraph/db';

export type Loaders = ReturnType<typeof createLoaders>;

/** The provider directory is not PHI: every authenticated role may read it. */
export function createLoaders({ prisma, batch }: ScopedData) {
  return {
    providerById: createLoader<string, Provider | null>(batch, async (ids) =>
      byKey(ids, await prisma.provider.findMany({ where: { id: { in: [...ids] } } }), (p) => p.id),
    ),
  };
}
