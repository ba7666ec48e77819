# Sourced by .ci/run: a Docker Engine of its own, the base image the images are built on, made
# offline (no image registry can be reached from CI), and the wheels their pip installs. The tests
# make their busybox image themselves.
#   start_engine DIR        dockerd with its data, socket and pid under DIR; exports DOCKER_HOST
#   stop_engine             removes its containers and images, then stops it
#   debian_rootfs DIR       DIR/rootfs: a Debian root filesystem made by debootstrap from the apt
#                           mirror this machine is configured with, with Python 3 and its venv
#                           module; DIR/python-version: that Python's X.Y. Needs no Engine.
#   start_rootfs DIR        debian_rootfs DIR in the background, in a process group of its own
#   finish_rootfs           waits for it; fails if it failed
#   stop_rootfs             ends it, debootstrap and all, if it still runs
#   debian_image TAG DIR    imports DIR/rootfs as image TAG, then removes it
#   image_wheels X.Y DIR PYTHON   into DIR, the wheels both images install, fetched by PYTHON's pip
#                           with this machine's index and settings, for Python X.Y
#   serve_wheels DIR        serves DIR on a free loopback port; exports WHEELS_URL
#   stop_wheels             stops that server
#   remove_work_files DIR   unmounts what the Engine or debootstrap left mounted under DIR, removes DIR

CI_DOCKER_SH=$(realpath "${BASH_SOURCE[0]}")

start_engine() {
    ENGINE_DIR="$1"
    mkdir -p "$ENGINE_DIR"
    # No bridge and no iptables: CI may not change the machine's network. Containers get
    # --network none or host; vfs is slow but needs no kernel overlay support.
    dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
        --data-root "$ENGINE_DIR/data" --exec-root "$ENGINE_DIR/exec" --pidfile "$ENGINE_DIR/dockerd.pid" \
        -H "unix://$ENGINE_DIR/docker.sock" >"$ENGINE_DIR/dockerd.log" 2>&1 &
    ENGINE_PID=$!
    export DOCKER_HOST="unix://$ENGINE_DIR/docker.sock"
    for _ in $(seq 60); do
        if docker info >/dev/null 2>&1; then return 0; fi
        if ! kill -0 "$ENGINE_PID" 2>/dev/null; then break; fi
        sleep 1
    done
    echo "dockerd did not start:" >&2
    tail -20 "$ENGINE_DIR/dockerd.log" >&2
    return 1
}

stop_engine() {
    [ -n "${ENGINE_PID:-}" ] || return 0
    # Containers first (compose's too, should a test have left any), then the images, then dockerd.
    docker ps -aq | xargs -r docker rm -f -v >/dev/null 2>&1 || true
    docker images -q | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
    kill "$ENGINE_PID" 2>/dev/null || true
    wait "$ENGINE_PID" 2>/dev/null || true
    ENGINE_PID=
}

remove_work_files() {
    # dockerd leaves its network namespace files mounted, and an interrupted debootstrap its
    # chroot's /proc and /sys: unmount everything below DIR, deepest first, or DIR cannot be removed.
    local dir mounted
    dir=$(realpath "$1" 2>/dev/null) || return 0
    awk -v dir="$dir/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r mounted; do
        umount -l "$mounted" 2>/dev/null || true
    done
    # Never across into a file system still mounted below it.
    rm -rf --one-file-system "$dir" 2>/dev/null || echo ".ci/run: could not remove $dir" >&2
    return 0
}

# The Debian mirror apt uses on this machine (deb822 URIs: or a one-line deb entry).
apt_mirror() {
    # Some of these files may not exist: read what there is (pipefail must not end the run here).
    { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } \
        | grep -E '^(URIs:|deb )' | grep -E '/debian/?( |$)' | grep -v security \
        | sed -E 's/^URIs:[[:space:]]*//; s/^deb (\[[^]]*\] )?//; s/[[:space:]].*$//' | head -1 || true
}

debian_rootfs() {
    local root="$1/rootfs" mirror suite
    mirror=$(apt_mirror)
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    echo ".ci/run: debootstrap $suite from $mirror" >&2
    if [ -z "$mirror" ] || [ -z "$suite" ]; then
        echo "no Debian mirror found in /etc/apt/sources.list*" >&2
        return 1
    fi
    # The image's / is this folder: it must be 755 like any root (mktemp's are 700), or no user but
    # root can reach a single file in the image, and runc says every command is "not found in \$PATH".
    mkdir -p "$root" && chmod 755 "$root"
    # minbase and the two packages the images need: python3 and its venv module (with pip's wheel).
    debootstrap --variant=minbase --include=python3,python3-venv "$suite" "$root" "$mirror" >"$1/debootstrap.log" 2>&1 \
        || { tail -20 "$1/debootstrap.log" >&2; return 1; }
    rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc "$root"/usr/share/man \
        "$root"/usr/share/locale "$root"/usr/share/info
    # Both images run as users without privileges: such a user must be able to run Python and make a
    # venv. chroot, not a container: on vfs every container is a copy of the whole image.
    chroot --userspec=65534:65534 "$root" /usr/bin/python3 -c 'import ensurepip, sys, venv; print("%d.%d" % sys.version_info[:2])' \
        >"$1/python-version" || { echo ".ci/run: an unprivileged user cannot run python3 in $root" >&2; return 1; }
}

start_rootfs() {
    mkdir -p "$1"
    # setsid: its own process group, so that stop_rootfs ends debootstrap's children too.
    setsid bash -c 'set -euo pipefail; . "$0"; debian_rootfs "$1"' "$CI_DOCKER_SH" "$1" &
    ROOTFS_PID=$!
}

finish_rootfs() {
    local status=0
    wait "$ROOTFS_PID" || status=$?
    ROOTFS_PID=
    [ "$status" = 0 ] || echo ".ci/run: debootstrap failed ($status)" >&2
    return "$status"
}

stop_rootfs() {
    [ -n "${ROOTFS_PID:-}" ] || return 0
    kill -TERM -- "-$ROOTFS_PID" 2>/dev/null || true
    wait "$ROOTFS_PID" 2>/dev/null || true
    ROOTFS_PID=
}

debian_image() {
    local tag="$1" root="$2/rootfs"
    tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$tag" >/dev/null
    rm -rf --one-file-system "$root"
}

image_wheels() {
    local version="$1" dir="$2" python="$3"
    mkdir -p "$dir"
    # What the images install: the server's pins, the project's build backend and the agent's
    # dependencies, as pyproject.toml names them.
    "$python" - "$dir/image-requirements.txt" <<'PY'
import os, sys, tomllib
with open("pyproject.toml", "rb") as file:
    project = tomllib.load(file)
lines = ["-r " + os.path.abspath("requirements.txt"), *project["build-system"]["requires"],
         *project["project"]["dependencies"]]
with open(sys.argv[1], "w") as file:
    file.write("\n".join(lines) + "\n")
PY
    # This machine's pip, with its own index and settings; wheels only, for the image's Python
    # (the base comes from this machine's Debian release, so the platform tags are this machine's).
    "$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: --python-version "$version" \
        --dest "$dir" -r "$dir/image-requirements.txt" 2>"$dir.pip.log" || { tail -30 "$dir.pip.log" >&2; return 1; }
}

serve_wheels() {
    local dir="$1" port=
    python3 -u -m http.server --bind 127.0.0.1 --directory "$dir" 0 >"$dir.http.log" 2>&1 &
    WHEELS_PID=$!
    for _ in $(seq 50); do
        port=$(sed -nE 's/.* port ([0-9]+) .*/\1/p' "$dir.http.log" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo ".ci/run: the wheel server did not start" >&2; cat "$dir.http.log" >&2; return 1; }
    export WHEELS_URL="http://127.0.0.1:$port/"
}

stop_wheels() {
    [ -n "${WHEELS_PID:-}" ] || return 0
    kill "$WHEELS_PID" 2>/dev/null || true
    wait "$WHEELS_PID" 2>/dev/null || true
    WHEELS_PID=
}
