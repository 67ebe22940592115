# syntax=docker/dockerfile:1
# ftpgate: multi-stage build. Build from the repository root:
#   docker build -t ftpgate .
# Run (SQLite + local blobs in the volume, HTTP door on 8080, embedded FTP on 2121):
#   docker run -p 8080:8080 -p 2121:2121 -p 50000-50100:50000-50100 -v ftpgate-data:/var/lib/ftpgate ftpgate
# Operator commands use the same image: docker run --rm -v ftpgate-data:/var/lib/ftpgate ftpgate photographer list
# deploy/compose/ runs it behind SFTPGo with PostgreSQL and S3; docs/deploy.md explains both.

# --- build ----------------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: a change in src/ does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && echo '' > src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src target/release/.fingerprint/ftpgate-* target/release/deps/ftpgate-* target/release/deps/libftpgate-*
# migrations/ is compiled into the binary (sqlx::migrate!).
COPY migrations ./migrations
COPY src ./src
RUN cargo build --release --locked \
 && install -D -m 0755 target/release/ftpgate /out/ftpgate

# --- runtime --------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: TLS to R2/S3 and webhooks; curl: the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ftpgate \
 && useradd --system --uid 10001 --gid ftpgate --home-dir /var/lib/ftpgate --no-create-home \
      --shell /usr/sbin/nologin ftpgate \
 && install -d -o ftpgate -g ftpgate -m 0750 /var/lib/ftpgate \
 && install -d -m 0755 /etc/ftpgate
COPY --from=build /out/ftpgate /usr/local/bin/ftpgate

# Settings that fit every container (each can be overridden; see README's configuration table).
# In a container the HTTP door must listen on all interfaces; the health check reads the port
# from here, so change the listen address with this variable, not in the TOML file. On all
# interfaces `serve` needs FTPGATE_AUTH_HOOK__TOKEN (`docker run -e FTPGATE_AUTH_HOOK__TOKEN=...`).
ENV FTPGATE_DATA_DIR=/var/lib/ftpgate \
    FTPGATE_HTTP__LISTEN=0.0.0.0:8080 \
    FTPGATE_LOG__FORMAT=json
VOLUME ["/var/lib/ftpgate"]
WORKDIR /var/lib/ftpgate
USER ftpgate:ftpgate
# 8080: auth hook, HTTPFs, admin API, /healthz, /readyz, /metrics.
# 2121 and 50000-50100: the embedded FTP door and its passive ports (unused behind SFTPGo).
EXPOSE 8080 2121 50000-50100

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS --max-time 4 -o /dev/null "http://127.0.0.1:${FTPGATE_HTTP__LISTEN##*:}/healthz" || exit 1

# `ftpgate serve` by default; any other subcommand can be given instead.
# Pass a configuration file with: --config /etc/ftpgate/ftpgate.toml serve
ENTRYPOINT ["/usr/local/bin/ftpgate"]
CMD ["serve"]
