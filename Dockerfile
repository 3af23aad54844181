# One image for every edgelb role in docker-compose.yml: edge, prober, sidecar, demo upstream.
# The build stage compiles the TypeScript; the image runs the compiled dist/, as the installed
# package does (bin/edgelb.js picks dist/ when the sources are not there).
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:26-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY --from=build /app/dist ./dist
# The demo upstream is a TypeScript file that Node 26 runs as it is.
COPY examples ./examples
USER node
# Healthy while something accepts connections on the listener (an edge's; set the port for
# another role, or disable the check for one that listens on nothing, as the prober).
ENV EDGELB_HEALTHCHECK_PORT=8080
HEALTHCHECK --interval=5s --timeout=2s --start-period=15s --retries=3 \
  CMD ["node", "-e", "require('node:net').connect(Number(process.env.EDGELB_HEALTHCHECK_PORT), '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"]
