/** `npm run compose` rewrites schema/supergraph.graphql; `-- --check` fails when it is stale. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { composeSupergraph, SUPERGRAPH_PATH } from './compose.js';

const USAGE = `usage: npm run compose [-- --check]

Composes schema/*.graphql (each subgraph's SDL) into schema/supergraph.graphql with Apollo's
composition, the supergraph the gateway serves.

  --check   write nothing; exit 1 when the committed supergraph differs from a fresh composition (CI)
  --help    this text`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const unknown = args.find((arg) => arg !== '--check');
if (unknown !== undefined) {
  console.error(`compose: unknown option "${unknown}" (see --help)`);
  process.exit(2);
}
const supergraph = composeSupergraph();
if (args.includes('--check')) {
  const committed = existsSync(SUPERGRAPH_PATH) ? readFileSync(SUPERGRAPH_PATH, 'utf8') : '';
  if (committed !== supergraph) {
    console.error('schema/supergraph.graphql is stale: run `npm run compose` and commit the result.');
    process.exit(1);
  }
  console.log('schema/supergraph.graphql is up to date.');
} else {
  writeFileSync(SUPERGRAPH_PATH, supergraph);
  console.log(`Wrote ${SUPERGRAPH_PATH}`);
}
