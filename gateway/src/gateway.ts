/** Runs the gateway alone, in front of subgraphs running elsewhere (PATIENTS_URL and friends). */
import { ConfigError, loadConfig } from '@healthgraph/kit';
import { createGateway } from './server.js';

try {
  const config = loadConfig();
  const gateway = await createGateway({ config }).listen(config.ports.gateway, config.host);
  console.log(`Gateway ready at ${gateway.url}/graphql`);
  const stop = async () => {
    await gateway.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
} catch (error) {
  console.error(error instanceof ConfigError ? `Configuration error: ${error.message}` : error);
  process.exit(1);
}
