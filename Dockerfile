# kafkalite as a CI service container: one broker, port 9092, data in a volume; its HTTP
# control API (fault rules, journal, clock, reset, health, metrics) on port 8092.
#
#   docker build -t kafkalite .
#   docker run -p 9092:9092 -p 8092:8092 kafkalite          # clients use localhost:9092
#   docker run -e KAFKALITE_MEMORY=1 -p 9092:9092 kafkalite  # nothing on disk
#
# Every `kafkalite serve` option is also an environment variable (KAFKALITE_PORT,
# KAFKALITE_ADVERTISED_HOST, ...): see the README, "CI service container".
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY kafkalite ./kafkalite
RUN pip install ".[registry]" && rm -rf /src

# A user without privileges owns the data dir; the broker never runs as root.
RUN useradd --system --uid 10001 --home-dir /var/lib/kafkalite --create-home kafkalite
USER kafkalite
WORKDIR /var/lib/kafkalite
# Created here, as the kafkalite user, so that a volume mounted on it is writable by it.
RUN mkdir -p /var/lib/kafkalite/data

# Listen on every interface of the container; advertise localhost, which is right for
# clients that reach the container through a published port (docker run -p 9092:9092, and
# GitHub Actions `services:` used from steps on the runner). Clients on a Docker network
# reach it by name instead: set KAFKALITE_ADVERTISED_HOST to that name.
# The HTTP control API listens on the same interfaces (KAFKALITE_HTTP_PORT= empty turns it
# off); 8092 is where `kafkalite fault | journal | clock` look by default, and the web
# console is at its root (read-only unless KAFKALITE_CONSOLE_WRITE=1). The journal it
# serves keeps the last 10000 requests (KAFKALITE_JOURNAL_SIZE=0: off, for full throughput).
# The Schema Registry answers at the root of 8081, where serializers expect it
# (KAFKALITE_SCHEMA_REGISTRY_PORT= empty turns that port off; it stays under /schema-registry
# on 8092).
ENV KAFKALITE_HOST=0.0.0.0 \
    KAFKALITE_PORT=9092 \
    KAFKALITE_ADVERTISED_HOST=localhost \
    KAFKALITE_DATA_DIR=/var/lib/kafkalite/data \
    KAFKALITE_HTTP_PORT=8092 \
    KAFKALITE_SCHEMA_REGISTRY_PORT=8081 \
    KAFKALITE_JOURNAL_SIZE=10000
VOLUME ["/var/lib/kafkalite/data"]
EXPOSE 9092 8092 8081

# Healthy only when the broker decodes and answers a real ApiVersions request.
HEALTHCHECK --interval=2s --timeout=3s --start-period=5s --retries=15 \
    CMD ["sh", "-c", "kafkalite health --quiet --timeout 2 --bootstrap-server 127.0.0.1:${KAFKALITE_PORT}"]

# SIGTERM (docker stop) is a graceful shutdown: stop accepting, finish in-flight requests,
# close the logs, exit 0, well within Docker's 10 s grace period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["kafkalite"]
CMD ["serve"]
