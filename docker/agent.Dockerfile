# kubewatch-agent for a Docker host: reads the Engine whose socket it is given and pushes to the
# server. BASE is any image with Python 3.11+ and its venv module. Build from the checkout's root:
#   docker build -f docker/agent.Dockerfile -t kubewatch-agent .
# (In a cluster, build the image of the README's "In a cluster" section: it adds the Kubernetes client.)
ARG BASE=python:3.12-slim
FROM ${BASE}

# With the host's /etc/machine-id mounted, the agent keeps one identity (and its history) across
# containers; without it, the container's hostname is used. Metadata before the install: on
# storage drivers like vfs each instruction copies the whole image, which is smaller before it.
ENV KUBEWATCH_MACHINE_ID_FILE=/etc/machine-id PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
ENTRYPOINT ["/opt/kubewatch-agent/bin/kubewatch-agent"]
# Where pip finds packages: PyPI unless given (--build-arg PIP_INDEX_URL=<a mirror>, or
# PIP_FIND_LINKS=<a folder of wheels served over HTTP> with PIP_NO_INDEX=1). Build-time only.
ARG PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_NO_INDEX PIP_TRUSTED_HOST

# The project's files as .dockerignore lets them in; one layer for the install, without pip or setuptools.
# The server's modules come with the project but none of its dependencies: the agent never imports it.
COPY . /build
RUN python3 -m venv /opt/kubewatch-agent \
    && /opt/kubewatch-agent/bin/pip install --no-cache-dir --disable-pip-version-check /build \
    && /opt/kubewatch-agent/bin/pip uninstall --yes --quiet pip setuptools \
    && rm -rf /build
# Unprivileged; on a Docker host, compose.yaml adds the group that may read the socket.
USER 65534:65534
