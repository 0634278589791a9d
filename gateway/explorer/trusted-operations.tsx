import { type GraphiQLPlugin, useGraphiQL, useGraphiQLActions } from '@graphiql/react';
import { readConfig } from './config.js';

const { operations } = readConfig();

function ListIcon() {
  return (
    <svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
      <path d="M8 6h12M8 12h12M8 18h12M4 6h.01M4 12h.01M4 18h.01" strokeLinecap="round" />
    </svg>
  );
}

/**
 * The portals' trusted operations (schema/operations, the persisted-query manifest): what runs in
 * production, where PQ_MODE refuses any other text. A click opens one in a new tab, keeping the
 * headers (the token) of the current tab.
 */
function TrustedOperations() {
  const { addTab } = useGraphiQLActions();
  const queryEditor = useGraphiQL((state) => state.queryEditor);
  const headerEditor = useGraphiQL((state) => state.headerEditor);
  const open = (body: string) => {
    const headers = headerEditor?.getValue();
    addTab();
    queryEditor?.setValue(body);
    if (headers !== undefined) headerEditor?.setValue(headers);
  };
  return (
    <section className="hg-trusted" aria-label="Trusted operations">
      <div className="graphiql-doc-explorer-title">Trusted operations</div>
      <p>
        What the portals run. In production only these run (<code>PQ_MODE=safelist</code>); here any operation does.
      </p>
      <ul>
        {operations.map((operation) => (
          <li key={operation.name}>
            <button type="button" className="graphiql-un-styled" onClick={() => open(operation.body)}>
              <span className="hg-op-type">{operation.type}</span> {operation.name}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

export const trustedOperationsPlugin: GraphiQLPlugin = { title: 'Trusted operations', icon: ListIcon, content: TrustedOperations };
