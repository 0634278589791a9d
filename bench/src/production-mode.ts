/**
 * Imported first by each bench entry point, before anything loads graphql or Apollo Server: the
 * subgraphs the bench runs in its own process then run as the deployed ones do (the Dockerfile and
 * the Kubernetes config set NODE_ENV=production). graphql reads NODE_ENV once, when it loads, and
 * in development checks every `instanceof` across realms, which cost the bench's subgraphs about 2%
 * of their CPU. The stack's own settings are still loaded with NODE_ENV=test, explicitly.
 */
process.env.NODE_ENV = 'production';
