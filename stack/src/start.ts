/** `npm start`: the whole stack on one machine, on the embedded database unless DATABASE_URL is set. */
import { SEEDED } from '@healthgraph/db/seed';
import { logger, runProcess, startTracing } from '@healthgraph/platform';
import { loadStackConfig } from './config.js';
import { startStack } from './stack.js';

const USAGE = `usage: npm start

Runs the four subgraphs and the gateway in one process, on the embedded database under
.data/pglite (PGLITE_DATA_DIR) or on DATABASE_URL. An empty database is migrated and seeded with
SEED_PATIENTS patients (default 2000) on the first start; later starts reuse it. Every setting is
an environment variable: see the README's configuration table.

  --help   this text`;

if (process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h')) {
  console.log(USAGE);
  process.exit(0);
}
if (process.argv.length > 2) {
  console.error(`start: takes no arguments, got "${process.argv.slice(2).join(' ')}"; settings are environment variables (see --help)`);
  process.exit(2);
}

await runProcess(async () => {
  const config = loadStackConfig();
  logger.level = config.logLevel;
  const stopTracing = startTracing({ serviceName: 'healthgraph', endpoint: config.tracingEndpoint });
  const stack = await startStack({ config, progress: process.stdout });
  console.log(`Gateway ready at ${stack.gatewayUrl}`);
  if (config.explorer) console.log(`  explorer              open ${stack.gatewayUrl} in a browser (development only)`);
  for (const [name, url] of Object.entries(stack.subgraphUrls)) console.log(`  subgraph ${name.padEnd(12)} ${url}`);
  console.log(`Get a token:  npm run -s token -- --role CLINICIAN --sub ${SEEDED.clinician}`);
  console.log(`Then:         curl -s ${stack.gatewayUrl} -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`);
  console.log(`                -d '{"query":"{ patient(id: \\"${SEEDED.patient}\\") { name { text } allergies { code { display } } } }"}'`);
  return {
    async close() {
      await stack.close();
      await stopTracing();
    },
  };
});
