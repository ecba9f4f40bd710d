# Stand-in for Docker Hub's redis:7-bookworm, which the compose file's
# `redis` service names: no registry is reachable in CI, so the deploy test
# builds this from Debian's redis-server (7.0) on the same Debian 12 base and
# the CI override points the service at it. It behaves as the official image
# does for the compose file: redis-server and redis-cli on the PATH, runs as
# the `redis` user in /data, and takes the compose `command` as arguments.
FROM debian:12-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o redis -g redis /data

WORKDIR /data
USER redis
EXPOSE 6379

# The official image compiles Redis with protected mode off; Debian's keeps
# it on, and with no password it would refuse livegate and the app, which
# connect from other containers. So redis-server gets --protected-mode no in
# front of the compose command's own arguments; any other command runs as is.
ENTRYPOINT ["/bin/sh", "-c", "if [ \"$1\" = redis-server ]; then shift; exec redis-server --protected-mode no \"$@\"; fi; exec \"$@\"", "redis-entrypoint"]
CMD ["redis-server"]
