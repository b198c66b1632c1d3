# One image for every process of the service; docker-compose.yml picks the command.
FROM node:22-bookworm-slim
WORKDIR /app
# OpenBLAS and a C compiler for the native matrix-product addon of wasm trainers (src/models/native-blas.ts).
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libopenblas0-pthread \
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY native ./native
COPY prisma ./prisma
COPY prisma.config.ts ./
RUN npm ci && npm run db:generate
COPY . .
# The dashboard (web/ → web/dist/): npm ci above ran before the sources were copied, so its build skipped it.
RUN npm run build:web
ENV NODE_ENV=production HOST=0.0.0.0
CMD ["npm", "run", "start:api"]
