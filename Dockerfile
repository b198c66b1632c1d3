# One image for every process of the service; docker-compose.yml picks the command.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
RUN npm ci && npm run db:generate
COPY . .
ENV NODE_ENV=production HOST=0.0.0.0
CMD ["npm", "run", "start:api"]
