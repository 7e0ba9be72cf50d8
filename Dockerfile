# syntax=docker/dockerfile:1
# The `rialto` binary in an image (docker-compose.yml runs every service from it):
#   docker build -t rialto:local .
#   docker run --rm rialto:local --help

# ---- web ---------------------------------------------------------------------------------
# The SolidJS client (web/), which `rialto serve` and every `rialto gateway` serve at `/`.
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json web/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---- build -------------------------------------------------------------------------------
# The toolchain is the one rust-toolchain.toml pins (1.95.0); rustup adds the components it
# lists (rustfmt, clippy) on the first cargo call.
FROM rust:1.95.0-bookworm AS build
WORKDIR /src

COPY rust-toolchain.toml ./
RUN cargo --version && rustc --version

# The whole workspace: every member must be there for cargo to load it, and vendor/ holds
# the patched sqlx-core of [patch.crates-io].
COPY Cargo.toml Cargo.lock ./
COPY vendor ./vendor
COPY api ./api
COPY auth ./auth
COPY brain ./brain
COPY bus ./bus
COPY client ./client
COPY common ./common
COPY entity ./entity
COPY fixtures ./fixtures
COPY loadgen ./loadgen
COPY matcher ./matcher
COPY migration ./migration
# The desktop app is a workspace member (not built here: it needs WebKitGTK).
COPY desktop/src-tauri ./desktop/src-tauri

RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p api --bin rialto \
    && install -D -m 0755 target/release/rialto /out/rialto

# ---- runtime -----------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# ca-certificates for TLS to a managed PostgreSQL; curl for the compose health checks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 rialto \
    && useradd --system --uid 10001 --gid rialto --home-dir /var/lib/rialto --create-home \
       --shell /usr/sbin/nologin rialto

COPY --from=build /out/rialto /usr/local/bin/rialto
COPY --from=web /web/dist /usr/share/rialto/web
ENV RIALTO_WEB_DIR=/usr/share/rialto/web

USER rialto:rialto
WORKDIR /var/lib/rialto
# The embedded mode (`rialto serve` without DATABASE_URL) keeps its SQLite file and keys here.
ENV RIALTO_DATA_DIR=/var/lib/rialto/data

# gateway 4000, auth 4001, brain 4002 (`--listen`), serve 8080.
EXPOSE 4000 4001 4002 8080

ENTRYPOINT ["rialto"]
CMD ["--help"]
