"""A real Docker Engine for the tests: reached through DOCKER_HOST (or the local socket) with the docker CLI.

Tests that need it take the `engine` fixture. Without a reachable Engine they are skipped, unless
KUBEWATCH_TEST_DOCKER=required (as .ci/run sets) or CI=true: then a missing Engine fails them.
"""

import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

BUSYBOX = Path("/bin/busybox")
IMAGE = "kubewatch-test-busybox:1"


def docker(*args, check=True, timeout=120, **options):
    """Run the docker CLI and return its standard output, stripped."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, **options)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def unavailable(reason):
    """Skip, or fail when CI requires the Engine (KUBEWATCH_TEST_DOCKER=required, or CI=true)."""
    if os.environ.get("KUBEWATCH_TEST_DOCKER") == "required":
        pytest.fail(f"KUBEWATCH_TEST_DOCKER=required but {reason}", pytrace=False)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def busybox_rootfs():
    """Return a tar of a root filesystem holding Debian's static busybox and a link per applet."""
    listed = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for folder in ("bin", "tmp", "etc", "proc", "sys", "dev"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, "bin/busybox")
        for applet in listed:
            if applet != "busybox":
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type, info.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(info)
    return data.getvalue()


class Engine:
    """The Engine, a busybox image, and the containers and networks a test made (removed at the end)."""

    def __init__(self):
        self.label = f"kubewatch-test={uuid.uuid4().hex[:12]}"
        if not docker("images", "-q", IMAGE):
            subprocess.run(["docker", "import", "-c", "ENV PATH=/bin", "-c", 'CMD ["/bin/sh"]', "-", IMAGE],
                           input=busybox_rootfs(), capture_output=True, check=True, timeout=120)

    def run(self, name, *args, command=("sleep", "3600"), network="none"):
        """Start a container of the busybox image; return its full id."""
        options = ["--network", network] if network else []
        return docker("run", "-d", "--label", self.label, "--name", f"{self.prefix}-{name}", *options, *args,
                      IMAGE, *command)

    @property
    def prefix(self):
        return "kwt-" + self.label[-12:]

    def network(self, subnet):
        """Create a bridge network on subnet; return its name."""
        name = f"{self.prefix}-net"
        docker("network", "create", "--label", self.label, "--subnet", subnet, name)
        return name

    def inspect(self, container):
        return json.loads(docker("inspect", container))[0]

    def stats(self, *containers):
        """Return `docker stats --no-stream` of containers as {short id: its row}."""
        rows = docker("stats", "--no-stream", "--format", "{{json .}}", *containers).splitlines()
        return {row["ID"][:12]: row for row in map(json.loads, rows)}

    def cleanup(self):
        found = docker("ps", "-aq", "--filter", f"label={self.label}").split()
        if found:
            docker("rm", "-f", "-v", *found, check=False)
        for network in docker("network", "ls", "-q", "--filter", f"label={self.label}").split():
            docker("network", "rm", network, check=False)


@pytest.fixture(scope="module")
def engine():
    if shutil.which("docker") is None:
        unavailable("the docker CLI is not installed")
    if not BUSYBOX.exists():
        unavailable(f"{BUSYBOX} (Debian's busybox-static) is not installed")
    try:
        docker("info", "--format", "{{.ServerVersion}}", timeout=20)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        unavailable(f"no Docker Engine answers at {os.environ.get('DOCKER_HOST') or 'the local socket'}: {error}")
    found = Engine()
    yield found
    found.cleanup()
