/** The gateway's development explorer: GraphiQL, bundled at build time and served by the gateway itself. */
import './workers.js';
import 'graphiql/style.css';
import './explorer.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { buildSchema } from 'graphql';
import { createRoot } from 'react-dom/client';
import { readConfig } from './config.js';
import { trustedOperationsPlugin } from './trusted-operations.js';

const config = readConfig();
const fetcher = createGraphiQLFetcher({ url: config.endpoint });
const schema = buildSchema(config.schema);
const first = config.operations.find((operation) => operation.name === 'PatientSummary') ?? config.operations[0];

createRoot(document.getElementById('explorer')!).render(
  <GraphiQL
    fetcher={fetcher}
    schema={schema}
    plugins={[trustedOperationsPlugin]}
    visiblePlugin={trustedOperationsPlugin}
    defaultQuery={first?.body ?? ''}
    defaultHeaders={config.headers}
    initialHeaders={config.headers}
    defaultEditorToolsVisibility="headers"
    shouldPersistHeaders={false}
  >
    <GraphiQL.Logo>
      HealthGraph{' '}
      <a className="hg-sandbox" href={config.sandboxUrl} target="_blank" rel="noreferrer">
        Apollo Sandbox (online)
      </a>
    </GraphiQL.Logo>
  </GraphiQL>,
);
