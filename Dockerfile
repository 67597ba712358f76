# syntax=docker/dockerfile:1
# Wove's own image: build the single executable, ship it on a small Debian.
#
#   docker build -t wove .
#   docker run -d -p 127.0.0.1:3000:3000 -v wove-data:/data wove
#
# The binary embeds everything it needs (assets, migrations, libsql's native
# addon, sqlite-vec); the runtime stage only adds git (project history) and CA
# certificates (outbound HTTPS to model providers and git remotes).
# x86-64 only for now: the build embeds the linux-x64 sqlite-vec and libsql addons.

# --- build --------------------------------------------------------------------
FROM oven/bun:1.4.5 AS build
WORKDIR /src
# Dependencies first, so source edits reuse the cached install layer.
COPY package.json bun.lock bunfig.toml tsconfig.json ./
RUN bun install --frozen-lockfile
# Only what the bundle reads; a host's node_modules, dist/ or data/ never enter.
COPY src ./src
COPY public ./public
COPY plugins ./plugins
COPY scripts ./scripts
# Smoke check: the binary starts and opens a libSQL file through its embedded addon.
RUN bun run build \
 && ./dist/wove migrate --data /tmp/wove-smoke \
 && rm -rf /tmp/wove-smoke

# --- runtime ------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl git \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid so a bind-mounted /data can be chowned to match from the host.
RUN groupadd --system --gid 10001 wove \
 && useradd --system --uid 10001 --gid wove --home-dir /data --shell /usr/sbin/nologin wove \
 && mkdir -p /data \
 && chown wove:wove /data
COPY --from=build /src/dist/wove /usr/local/bin/wove

ENV WOVE_DATA_DIR=/data \
    WOVE_HOST=0.0.0.0 \
    WOVE_PORT=3000
USER wove
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
# Shell form so a WOVE_PORT override at run time is followed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${WOVE_PORT}/healthz" >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/wove"]
CMD ["serve"]
