import type { Prisma } from '@healthgraph/db';
import { escapeLikePattern, nameSearchWhere, pageByName } from '@healthgraph/kit';
import { badUserInput, notFound } from '@healthgraph/platform';
import type { Context } from '../context.js';

interface SearchArgs {
  name?: string | null;
  specialty?: string | null;
  first?: number | null;
  after?: string | null;
}

export const Query = {
  provider: async (_: unknown, { id }: { id: string }, { loaders }: Context) => {
    const provider = await loaders.providerById.load(id);
    if (!provider) throw notFound('Provider', id);
    return provider;
  },

  searchProviders: async (_: unknown, { name, specialty, first, after }: SearchArgs, { data }: Context) => {
    const filters: Prisma.ProviderWhereInput[] = nameSearchWhere(name);
    if (specialty && specialty.length > 100) throw badUserInput('specialty', 'must be at most 100 characters');
    // An insensitive equals is an ILIKE: the value is matched literally, never as a pattern.
    if (specialty?.trim()) filters.push({ specialty: { equals: escapeLikePattern(specialty.trim()), mode: 'insensitive' } });
    return pageByName((args) => data.prisma.provider.findMany(args), filters, { first, after });
  },
};
