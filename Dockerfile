# Switchboard's container image. Build: `docker build -t switchboard .`
# The build stage runs the same commands as `make tools` and `make build` (make test checks this),
# so the image holds exactly what CI builds and tests.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN SWITCHBOARD_NO_BROWSER=1 bash scripts/install-tools.sh
RUN PATH="/src/tools/wasm-opt/bin:$PATH" cargo leptos build --release --split
RUN node scripts/precompress.mjs target/site/pkg

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home switchboard \
 && mkdir -p /data \
 && chown switchboard:switchboard /data
COPY --from=build /src/target/release/switchboard /usr/local/bin/switchboard
COPY --from=build /src/target/site /srv/switchboard/site
ENV SWITCHBOARD_ADDR=0.0.0.0:3000 \
    SWITCHBOARD_DATA_DIR=/data \
    SWITCHBOARD_SITE_ROOT=/srv/switchboard/site \
    SWITCHBOARD_LOG_FORMAT=json
USER switchboard
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:3000/healthz || exit 1
ENTRYPOINT ["switchboard"]
CMD ["serve"]
