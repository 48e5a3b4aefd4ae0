# graphhook: one image for every command (`ingest`, `process`, `run`, `migrate`,
# `replay`, `check-config`, ...). Multi-stage: a release build, then a small
# Debian runtime with the binary, CA certificates (the Graph API is HTTPS) and a
# non-root user.
#
#   docker build -t graphhook .
#   docker run --rm graphhook check-config --for ingest

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p graphhook \
 && cp target/release/graphhook /graphhook

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/graphhook --create-home graphhook
COPY --from=build /graphhook /usr/local/bin/graphhook
USER 10001:10001
WORKDIR /var/lib/graphhook
ENV GRAPHHOOK_LOG__FORMAT=json
# 8080: ingest's public listener (webhooks, callbacks); 8081: the processor's
# (the data-deletion status page); 9080, 9081: their operations listeners
# (health, readiness, metrics, the admin API), loopback unless configured.
EXPOSE 8080 8081
# Ingest's operations listener by default; processors override the URL
# (`graphhook healthcheck http://127.0.0.1:9081/healthz`).
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 \
  CMD ["graphhook", "healthcheck"]
ENTRYPOINT ["graphhook"]
CMD ["ingest"]
