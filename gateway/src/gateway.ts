/** Runs the gateway alone, in front of subgraphs running elsewhere (PATIENTS_URL and friends). */
import { ConfigError, loadConfig, stopOnSignals } from '@healthgraph/kit';
import { createGateway } from './server.js';

try {
  const config = loadConfig();
  const gateway = await createGateway({ config }).listen(config.ports.gateway, config.host);
  console.log(`Gateway ready at ${gateway.url}/graphql`);
  stopOnSignals(() => gateway.close());
} catch (error) {
  console.error(error instanceof ConfigError ? `Configuration error: ${error.message}` : error);
  process.exit(1);
}
