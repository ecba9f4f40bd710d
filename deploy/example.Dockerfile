# The demo app of deploy/example/ (a Python 3 standard-library server).
# Built by deploy/docker-compose.yml with deploy/example/ as the context.
FROM debian:12-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10002 demo \
 && useradd --system --uid 10002 --gid demo --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin demo

WORKDIR /app
COPY . /app/

USER 10002:10002
EXPOSE 3000
# Python as PID 1 has no handler for SIGTERM and PID 1 ignores unhandled
# signals, so `docker stop` waited out its timeout and then killed the app.
# SIGINT raises KeyboardInterrupt, on which app.py closes its server and exits.
STOPSIGNAL SIGINT
# -u: unbuffered, so the log lines show up in `docker compose logs` at once.
CMD ["python3", "-u", "/app/app.py"]
