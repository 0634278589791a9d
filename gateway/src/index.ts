/** Runs the gateway alone, in front of subgraphs running elsewhere (PATIENTS_URL and friends): how production deploys it. */
import { openDatabase } from '@healthgraph/db';
import { logger, openAuditLog, runProcess, startTracing } from '@healthgraph/platform';
import { loadGatewayConfig } from './config.js';
import { createGateway } from './server.js';

await runProcess(async () => {
  const config = loadGatewayConfig();
  logger.level = config.logLevel;
  const stopTracing = startTracing({ serviceName: 'healthgraph-gateway', endpoint: config.tracingEndpoint });
  // The gateway writes the refusals it makes itself to the same audit trail as the subgraphs.
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.pgliteDir, poolSize: 2 });
  const audit = await openAuditLog(db.prisma, config, 'gateway');
  const gateway = await createGateway({ config, audit }).listen(config.ports.gateway, config.host);
  console.log(`Gateway ready at ${gateway.url}/graphql`);
  return {
    async close() {
      await gateway.close();
      await audit.close();
      await db.close();
      await stopTracing();
    },
  };
});
