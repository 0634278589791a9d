/** `npm run compose` rewrites schema/supergraph.graphql; `-- --check` fails when it is stale. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { composeSupergraph, SUPERGRAPH_PATH } from './compose.js';

const supergraph = composeSupergraph();
if (process.argv.includes('--check')) {
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
