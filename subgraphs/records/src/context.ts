import type { SubgraphContext } from '@healthgraph/kit';
import type { Loaders } from './loaders.js';

/** What every resolver of the records subgraph receives: the principal, scoped data access and this request's loaders. */
export type Context = SubgraphContext<Loaders>;
