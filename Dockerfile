# syntax=docker/dockerfile:1
# The billing service as an image: `docker build -t billing .`, then `docker compose up` (compose.yaml).
#
# Two stages: the first installs every dependency and compiles; the second carries only the
# compiled code, the production dependencies and the default rule files, and runs as an
# unprivileged user. The server is the container's PID 1 (exec-form ENTRYPOINT, no shell or npm
# in between), so `docker stop` delivers SIGTERM to it and it drains: in-flight requests finish,
# sockets close with 1001, queued usage is committed, then it exits 0.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build --silent && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
# A numeric user, so that orchestrators can verify "not root" without reading /etc/passwd.
RUN groupadd --system --gid 10001 billing && useradd --system --uid 10001 --gid billing --home-dir /app --shell /usr/sbin/nologin billing
WORKDIR /app
# HOME set here too: a platform that runs the image under an arbitrary user id (one with no
# passwd entry) would otherwise leave Node without a home folder, and some libraries fail then.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000 HOME=/app RULES_DIR=/app/rules DATA_DIR=/tmp/billing
# Owned by root and read-only to the service: it writes nothing under /app.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/rules ./rules
USER 10001:10001
EXPOSE 4000
# /readyz: the database and the store answer, and the rule files loaded (see the README).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "bin/healthcheck.js"]
ENTRYPOINT ["node", "bin/billing.js"]
CMD ["serve"]
