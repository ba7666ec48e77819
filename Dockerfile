# The kubewatch server: waitress on port 8080, as a user without privileges, its database, secret
# key and config.toml on the /data volume. BASE is any image with Python 3.11+ and its venv module.
ARG BASE=python:3.12-slim
FROM ${BASE}

# Few instructions, and those that only set metadata before the install: on storage drivers like
# vfs each instruction copies the whole image, which is half the size before it. Port 8080.
ENV KUBEWATCH_INSTANCE_PATH=/data PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/kubewatch/bin:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('KUBEWATCH_PORT', '8080'), timeout=4)"]
# `docker compose exec server kubewatch create-api-key ...` runs the other commands.
ENTRYPOINT ["kubewatch", "serve"]
# Where pip finds packages: PyPI unless given (--build-arg PIP_INDEX_URL=<a mirror>, or
# PIP_FIND_LINKS=<a folder of wheels served over HTTP> with PIP_NO_INDEX=1). Build-time only.
ARG PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_NO_INDEX PIP_TRUSTED_HOST

# The project's files as .dockerignore lets them in; one layer for the pinned dependencies, the
# server and the data folder its user owns, without pip, setuptools or the build files.
COPY . /build
RUN python3 -m venv /opt/kubewatch \
    && /opt/kubewatch/bin/pip install --no-cache-dir --disable-pip-version-check -r /build/requirements.txt \
    && /opt/kubewatch/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps /build \
    && /opt/kubewatch/bin/pip uninstall --yes --quiet pip setuptools \
    && rm -rf /build \
    && mkdir -p /data && chown 10001:10001 /data
# After the install: a volume keeps nothing written to it by later instructions, and the install runs as root.
VOLUME /data
USER 10001:10001
