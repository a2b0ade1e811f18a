# The migration runner's image (the Cloud Run job bqx-ml-runner): the bqx CLI, its production
# dependencies and the committed Phase 4C plan. Built and pushed by .github/workflows/runner-image.yml;
# config/environments.ts pins the digest that workflow prints (jobs.runner.image).
# __tests__/cdktf/runner-image.test.ts checks this file and the build context against the job.

# ---- build: all dependencies, compile TypeScript -------------------------------------------------
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json main.ts ./
COPY core ./core
COPY engines ./engines
COPY app ./app
COPY scripts ./scripts
COPY warehouse ./warehouse
COPY constructs ./constructs
COPY stacks ./stacks
COPY config ./config
COPY bench ./bench
COPY testing ./testing
RUN npx tsc -p tsconfig.build.json

# ---- runtime: production dependencies only, non-root, the plan baked in ----------------------------
FROM node:20.20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY policy ./policy
COPY plans/phase-4c.plan.json ./plans/phase-4c.plan.json
USER node
ENTRYPOINT ["node", "bin/bqx.js"]
CMD ["--help"]
