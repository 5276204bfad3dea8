# syntax=docker/dockerfile:1
# THERMALIQ container image (docs/DEPLOYMENT.md). Two stages: the release build, then a small
# Debian runtime holding only the binary, CA certificates and the PostgreSQL 15 client tools
# that `thermaliq db backup|restore` runs (pg_dump, pg_restore).
#
# The version lives in one place, the workspace Cargo.toml; tag the image with it:
#   version=$(cargo pkgid -p thermaliq | sed 's/.*[#@]//')
#   docker build --build-arg THERMALIQ_VERSION="$version" -t thermaliq:"$version" .
# The build stops when the argument differs from the version compiled into the binary, so an
# image cannot carry a tag or label that its `thermaliq --version` and /health contradict.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p thermaliq
ARG THERMALIQ_VERSION
RUN test -n "${THERMALIQ_VERSION}" \
        || { echo "pass --build-arg THERMALIQ_VERSION=<workspace version>" >&2; exit 1; } \
    && built="$(./target/release/thermaliq --version)" \
    && test "${built}" = "thermaliq ${THERMALIQ_VERSION}" \
        || { echo "THERMALIQ_VERSION=${THERMALIQ_VERSION} but the binary says: ${built}" >&2; exit 1; }

FROM debian:bookworm-slim AS runtime
ARG THERMALIQ_VERSION
LABEL org.opencontainers.image.title="thermaliq" \
      org.opencontainers.image.version="${THERMALIQ_VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# postgresql-client-15: `db backup|restore` on a PostgreSQL store; THERMALIQ_PG_BIN points the
# binary at the versioned tools directly (Debian's /usr/bin wrappers need a cluster config).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 thermaliq \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin thermaliq
COPY --from=build /src/target/release/thermaliq /usr/local/bin/thermaliq
# The default bind (127.0.0.1:8080) is unreachable from outside a container: listen on every
# interface, same port. The SQLite fallback (no database_url) writes under /var/lib/thermaliq.
ENV THERMALIQ_BIND=0.0.0.0:8080 \
    THERMALIQ_DATA_DIR=/var/lib/thermaliq \
    THERMALIQ_PG_BIN=/usr/lib/postgresql/15/bin
RUN install -d -o 10001 -g 10001 /var/lib/thermaliq
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["thermaliq", "health", "--url", "http://127.0.0.1:8080", "--timeout", "4"]
ENTRYPOINT ["thermaliq"]
CMD ["serve"]
