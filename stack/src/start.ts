/** `npm start`: the whole stack on one machine, on the embedded database unless DATABASE_URL is set. */
import { SEEDED } from '@healthgraph/db/seed';
import { logger, runProcess, startTracing } from '@healthgraph/platform';
import { loadStackConfig } from './config.js';
import { startStack } from './stack.js';

await runProcess(async () => {
  const config = loadStackConfig();
  logger.level = config.logLevel;
  const stopTracing = startTracing({ serviceName: 'healthgraph', endpoint: config.tracingEndpoint });
  if (!config.databaseUrl) console.log('Using the embedded database (first start creates, migrates and seeds it; this takes a minute)...');
  const stack = await startStack({ config });
  console.log(`Gateway ready at ${stack.gatewayUrl}`);
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
