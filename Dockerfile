# syntax=docker/dockerfile:1
# Strata: one image for the agent (`strata agent`) and the hub (`strata hub serve`).
#   docker build -t strata:0.1.0 .
#   docker run --rm strata:0.1.0 --version

# Tools stage: kustomize and helm, which render kustomizations and HelmChart documents inside layers,
# built from the Go modules pinned in tools/ by the same script the tests and CI use.
FROM golang:1.26-bookworm AS tools
WORKDIR /src
COPY tools/build.sh ./tools/build.sh
COPY tools/kustomize ./tools/kustomize
COPY tools/helm ./tools/helm
RUN install -D -m 0755 "$(bash tools/build.sh kustomize)" /opt/strata-tools/kustomize \
 && install -D -m 0755 "$(bash tools/build.sh helm)" /opt/strata-tools/helm \
 && /opt/strata-tools/kustomize version && /opt/strata-tools/helm version --short

# Build stage: the same commands CI runs (.ci/run), then drop the dev dependencies.
FROM node:20-bookworm-slim AS build
# better-sqlite3 is a native addon: node-gyp compiles it when no prebuilt binary can be fetched.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# The repository's .npmrc points node-gyp at Debian's headers (/usr); the Node image keeps them in /usr/local.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY agent/src ./agent/src
COPY hub/src ./hub/src
COPY contract ./contract
COPY tools/bundle.ts ./tools/bundle.ts
RUN npm run build \
 && node dist/agent/src/cli.js --version \
 && npm prune --omit=dev

# Runtime stage: Node 20 slim, production dependencies and the compiled JavaScript only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
# One malloc arena for every thread: V8's compiler and GC threads otherwise keep arenas of their own,
# about 8 MB of the agent's resident memory. (The agent sets its V8 heap rules itself: agent/src/heap.ts.)
ENV MALLOC_ARENA_MAX=1
# OpenSSH's client is the transport of ssh:// Git sources (its host key checks, not our own).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-client \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 strata \
 && useradd --system --uid 10001 --gid strata --home-dir /nonexistent --shell /usr/sbin/nologin strata \
 && install -d -o strata -g strata /var/lib/strata /var/lib/strata-hub
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The agent finds them on PATH; each run gets no network, a memory, time and output limit of its own.
COPY --from=tools /opt/strata-tools/kustomize /opt/strata-tools/helm /usr/local/bin/
USER 10001:10001
EXPOSE 9090 8080
ENTRYPOINT ["node", "/app/dist/bundle/strata.js"]
CMD ["--help"]
