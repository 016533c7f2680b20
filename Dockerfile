# The Rillet studio in a container: `rillet studio` with the engine and the
# built front end. Used by docker-compose.yml (with PostgreSQL and Redpanda).
#
#   docker build -t rillet-studio .

# ---- front end: web/ bundled by esbuild into web/dist --------------------
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN node build.mjs

# ---- Rust: the engine's Python wheel and the studio server ---------------
FROM rust:1-bookworm AS rust
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN python3 -m venv /opt/build-venv && /opt/build-venv/bin/pip install --no-cache-dir maturin \
    && /opt/build-venv/bin/maturin build --release -m engine/Cargo.toml -o /out/wheels \
    && SQLX_OFFLINE=true cargo build --release -p rillet-studio \
    && cp target/release/rillet /out/rillet

# ---- run time -------------------------------------------------------------
FROM python:3.11-slim-bookworm
RUN useradd --create-home --uid 1000 rillet
COPY --from=rust /out/wheels /tmp/wheels
RUN python -m venv /app/.venv && /app/.venv/bin/pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels
COPY --from=rust /out/rillet /usr/local/bin/rillet
COPY --from=web /src/web/dist /app/web/dist
WORKDIR /app
USER rillet
# A container's port is reached from outside its loopback, so the studio
# listens on all interfaces: that needs RILLET_STUDIO_SECRET (see
# docker-compose.yml) and the published name in RILLET_STUDIO_ALLOWED_HOSTS.
ENV RILLET_STUDIO_ROOT=/app \
    RILLET_STUDIO_ADDR=0.0.0.0:8742 \
    RILLET_STUDIO_PYTHON=/app/.venv/bin/python
EXPOSE 8742
ENTRYPOINT ["rillet", "studio"]
