# syntax=docker/dockerfile:1
# One image for every HealthGraph service; the command picks which one runs:
#   node gateway/dist/index.js                   the gateway (port 4000)
#   node subgraphs/patients/dist/index.js        a subgraph (patients 4001, providers 4002,
#   node subgraphs/providers/dist/index.js         appointments 4003, records 4004)
#   node subgraphs/appointments/dist/index.js
#   node subgraphs/records/dist/index.js
#   node prisma/dist/migrate-cli.js deploy       apply migrations (a release step or Job)
#   node prisma/dist/migrate-cli.js partitions   create audit partitions ahead, drop expired ones
# The default command is the gateway.

ARG NODE_IMAGE=node:20.20-bookworm-slim

# ---- build: every dependency, compile every package -------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CI=true PRISMA_HIDE_UPDATE_MESSAGE=1
COPY package.json package-lock.json ./
COPY prisma/package.json prisma/
COPY platform/package.json platform/
COPY subgraphs/kit/package.json subgraphs/kit/
COPY subgraphs/patients/package.json subgraphs/patients/
COPY subgraphs/providers/package.json subgraphs/providers/
COPY subgraphs/appointments/package.json subgraphs/appointments/
COPY subgraphs/records/package.json subgraphs/records/
COPY gateway/package.json gateway/
COPY stack/package.json stack/
COPY bench/package.json bench/
COPY test/package.json test/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx turbo run build --filter=@healthgraph/gateway --filter=@healthgraph/patients --filter=@healthgraph/providers \
      --filter=@healthgraph/appointments --filter=@healthgraph/records --filter=@healthgraph/db

# ---- deps: production dependencies only ---------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/prisma/package.json prisma/
COPY --from=build /app/platform/package.json platform/
COPY --from=build /app/subgraphs/kit/package.json subgraphs/kit/
COPY --from=build /app/subgraphs/patients/package.json subgraphs/patients/
COPY --from=build /app/subgraphs/providers/package.json subgraphs/providers/
COPY --from=build /app/subgraphs/appointments/package.json subgraphs/appointments/
COPY --from=build /app/subgraphs/records/package.json subgraphs/records/
COPY --from=build /app/gateway/package.json gateway/
COPY --from=build /app/stack/package.json stack/
COPY --from=build /app/bench/package.json bench/
COPY --from=build /app/test/package.json test/
# Only the services' workspaces: the bench and the test suite (and their tools) stay out. Every
# workspace a service imports is named, since npm installs the dependencies of named workspaces only.
RUN npm ci --no-audit --no-fund --omit=dev --include-workspace-root=false \
      --workspace=@healthgraph/db --workspace=@healthgraph/platform --workspace=@healthgraph/kit \
      --workspace=@healthgraph/patients --workspace=@healthgraph/providers --workspace=@healthgraph/appointments \
      --workspace=@healthgraph/records --workspace=@healthgraph/gateway \
    && npm cache clean --force \
    && mkdir /modules && find . -type d -name node_modules -prune -exec cp -a --parents {} /modules/ \;

# ---- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    AUDIT_JOURNAL_DIR=/var/lib/healthgraph/audit \
    NODE_OPTIONS=--enable-source-maps
# Every node_modules folder, at its place: npm nests a workspace's own versions (platform/node_modules).
COPY --from=deps --chown=root:root /modules/ ./
COPY --from=build --chown=root:root /app/package.json ./
# Each subgraph reads its SDL, the gateway the supergraph and the trusted-operation manifest.
COPY --from=build --chown=root:root /app/schema/*.graphql /app/schema/persisted-query-manifest.json schema/
COPY --from=build --chown=root:root /app/prisma/package.json /app/prisma/schema.prisma prisma/
COPY --from=build --chown=root:root /app/prisma/migrations prisma/migrations
COPY --from=build --chown=root:root /app/prisma/dist prisma/dist
COPY --from=build --chown=root:root /app/platform/package.json platform/
COPY --from=build --chown=root:root /app/platform/dist platform/dist
COPY --from=build --chown=root:root /app/subgraphs/kit/package.json subgraphs/kit/
COPY --from=build --chown=root:root /app/subgraphs/kit/dist subgraphs/kit/dist
COPY --from=build --chown=root:root /app/subgraphs/patients/package.json subgraphs/patients/
COPY --from=build --chown=root:root /app/subgraphs/patients/dist subgraphs/patients/dist
COPY --from=build --chown=root:root /app/subgraphs/providers/package.json subgraphs/providers/
COPY --from=build --chown=root:root /app/subgraphs/providers/dist subgraphs/providers/dist
COPY --from=build --chown=root:root /app/subgraphs/appointments/package.json subgraphs/appointments/
COPY --from=build --chown=root:root /app/subgraphs/appointments/dist subgraphs/appointments/dist
COPY --from=build --chown=root:root /app/subgraphs/records/package.json subgraphs/records/
COPY --from=build --chown=root:root /app/subgraphs/records/dist subgraphs/records/dist
COPY --from=build --chown=root:root /app/gateway/package.json gateway/
COPY --from=build --chown=root:root /app/gateway/dist gateway/dist
# The code is root's and read-only to the service; the service runs as `node` (uid 1000) and
# writes only its audit journal (a volume) and /tmp, so the root filesystem can be mounted read-only.
RUN mkdir -p /var/lib/healthgraph/audit && chown 1000:1000 /var/lib/healthgraph/audit && chmod 0700 /var/lib/healthgraph/audit
VOLUME ["/var/lib/healthgraph/audit"]
USER 1000:1000
EXPOSE 4000 4001 4002 4003 4004
STOPSIGNAL SIGTERM
CMD ["node", "gateway/dist/index.js"]
