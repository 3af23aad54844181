# One image for every edgelb role in docker-compose.yml: edge, prober, demo upstream.
FROM node:26-slim
WORKDIR /app
COPY package.json package-lock.json ./
# The image's Node is 26 already; the `node` devDependency and the other dev tools are not needed.
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY examples ./examples
USER node
