import { runSubgraph } from '@healthgraph/kit';
import { createAppointmentsSubgraph } from './server.js';

await runSubgraph('appointments', createAppointmentsSubgraph);
