import { runSubgraph } from '@healthgraph/kit';
import { createPatientsSubgraph } from './server.js';

await runSubgraph('patients', createPatientsSubgraph);
