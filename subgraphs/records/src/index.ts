import { runSubgraph } from '@healthgraph/kit';
import { createRecordsSubgraph } from './server.js';

await runSubgraph('records', createRecordsSubgraph);
