import { runSubgraph } from '@healthgraph/kit';
import { createProvidersSubgraph } from './server.js';

await runSubgraph('providers', createProvidersSubgraph);
