import { type GatewayConfig, loadGatewayConfig } from '@healthgraph/gateway/config';
import { loadSubgraphConfig, type SubgraphConfig } from '@healthgraph/kit';
import { ConfigError, envReader } from '@healthgraph/platform';

/** The one-process stack: the gateway's and the subgraphs' settings together, and the first-start seed. */
export interface StackConfig extends GatewayConfig, SubgraphConfig {
  /** Patients to seed on the first start of an empty database. */
  seedPatients: number;
}

export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const seedPatients = envReader(env).positive('SEED_PATIENTS', 2000);
  if (seedPatients < 4) throw new ConfigError(`SEED_PATIENTS must be at least 4, got "${seedPatients}"`);
  return { ...loadGatewayConfig(env), ...loadSubgraphConfig(env), seedPatients };
}
