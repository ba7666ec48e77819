# kubewatch-agent: reads the Docker Engine (or the cluster) it is given and pushes to the server.
# BASE is any image with Python 3.11+ and its venv module. Build from the checkout's root:
#   docker build -f docker/agent.Dockerfile -t kubewatch-agent .
ARG BASE=python:3.12-slim
FROM ${BASE}

# With the host's /etc/machine-id mounted, the agent keeps one identity (and its history) across
# containers; without it, the container's hostname is used.
ENV KUBEWATCH_MACHINE_ID_FILE=/etc/machine-id PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

# The agent with the Docker client; --build-arg EXTRAS=kubernetes adds the Kubernetes client for a
# cluster. The server's files come with the project but none of its dependencies: the agent never
# imports it.
ARG EXTRAS=""
COPY pyproject.toml README.md /build/
COPY kubewatch /build/kubewatch
COPY kubewatch_agent /build/kubewatch_agent
RUN python3 -m venv /opt/kubewatch-agent \
    && /opt/kubewatch-agent/bin/pip install --no-cache-dir --disable-pip-version-check "/build${EXTRAS:+[$EXTRAS]}" \
    && /opt/kubewatch-agent/bin/pip uninstall --yes --quiet pip \
    && rm -rf /build

# Unprivileged by default; on a Docker host, compose.yaml adds the group that may read the socket.
USER 65534:65534
ENTRYPOINT ["/opt/kubewatch-agent/bin/kubewatch-agent"]
