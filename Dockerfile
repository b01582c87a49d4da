# syntax=docker/dockerfile:1
# Production image: `docker build -t memory-chatbot-backend .` (or `docker compose up`, see README).
# Debian (glibc) base on purpose: better-sqlite3 and sqlite-vec have no musl/Alpine builds.

# ---- build: compile better-sqlite3 and the TypeScript, then drop dev dependencies ----
FROM node:24-bookworm-slim AS build

# node-gyp needs these to compile better-sqlite3 when no prebuilt binary can be downloaded.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Belt and braces: @scarf/scarf (pulled in by swagger-ui-dist) is usage tracking; keep it off.
ENV SCARF_ANALYTICS=false

COPY package.json package-lock.json .npmrc ./
# The npm bundled with Node 24 (11.19 with 24.22) honours package.json "allowScripts" with the
# committed .npmrc (strict-allow-scripts): only better-sqlite3's install script runs.
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: just node_modules, the compiled app and package.json ----
FROM node:24-bookworm-slim AS runtime

ENV NODE_ENV=production \
    DATA_DIR=/data \
    API_HOST=0.0.0.0 \
    API_PORT=8000

WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# DATA_DIR holds the SQLite database (when DATABASE_URL is unset), the generated JWT secret outside
# production and Mem0's local stores. Created here so that a new named volume is owned by `node`.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]

USER node
EXPOSE 8000

# Liveness only (/health/live never touches the database), so a slow database does not mark the
# container unhealthy; use /health/ready for readiness in an orchestrator.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.API_PORT || 8000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# node directly (not npm) so that SIGTERM reaches the app: it stops accepting connections,
# finishes in-flight requests, then closes the database.
CMD ["node", "dist/apps/api/apps/api/src/main.js"]
