# The kubewatch server: waitress on port 8080, as a user without privileges, its database, secret
# key and config.toml on the /data volume. BASE is any image with Python 3.11+ and its venv module.
ARG BASE=python:3.12-slim
FROM ${BASE}

ENV KUBEWATCH_INSTANCE_PATH=/data PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/kubewatch/bin:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin

# The project's files as .dockerignore lets them in; one layer for the pinned dependencies, the
# server and the data folder its user owns, without pip or the build files.
COPY . /build
RUN python3 -m venv /opt/kubewatch \
    && /opt/kubewatch/bin/pip install --no-cache-dir --disable-pip-version-check -r /build/requirements.txt \
    && /opt/kubewatch/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps /build \
    && /opt/kubewatch/bin/pip uninstall --yes --quiet pip \
    && rm -rf /build \
    && mkdir -p /data && chown 10001:10001 /data

# Few instructions: each one is a layer to copy whole on storage drivers like vfs. Port 8080.
VOLUME /data
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('KUBEWATCH_PORT', '8080'), timeout=4)"]
# `docker compose exec server kubewatch create-api-key ...` runs the other commands.
ENTRYPOINT ["kubewatch", "serve"]
