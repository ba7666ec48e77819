# Sourced by .ci/run: a Docker Engine of its own, and the base image the tests build on, made
# offline (no image registry can be reached from CI). The tests make their busybox image themselves.
#   start_engine DIR    dockerd with its data, socket and pid under DIR; exports DOCKER_HOST
#   stop_engine         stops it (and every container it ran)
#   remove_engine_files DIR   unmounts what the Engine left mounted under DIR, then removes DIR
#   debian_image TAG    a Debian root filesystem made by debootstrap from the apt mirror this
#                       machine is configured with, with Python 3 and its venv module

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
    docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1 || true
    kill "$ENGINE_PID" 2>/dev/null || true
    wait "$ENGINE_PID" 2>/dev/null || true
    ENGINE_PID=
}

remove_engine_files() {
    # dockerd leaves its network namespace files mounted: unmount them, or DIR cannot be removed.
    local mounted
    for mounted in "$1"/engine/exec/netns/*; do
        [ -e "$mounted" ] && umount -l "$mounted" 2>/dev/null
    done
    rm -rf "$1" 2>/dev/null || echo ".ci/run: could not remove $1" >&2
    return 0
}

# The Debian mirror apt uses on this machine (deb822 URIs: or a one-line deb entry).
apt_mirror() {
    # Some of these files may not exist: read what there is (pipefail must not end the run here).
    { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } \
        | grep -E '^(URIs:|deb )' | grep -E '/debian/?( |$)' | grep -v security \
        | sed -E 's/^URIs:[[:space:]]*//; s/^deb (\[[^]]*\] )?//; s/[[:space:]].*$//' | head -1 || true
}

debian_image() {
    local root mirror suite
    mirror=$(apt_mirror)
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    echo ".ci/run: debootstrap $suite from $mirror" >&2
    if [ -z "$mirror" ] || [ -z "$suite" ]; then
        echo "no Debian mirror found in /etc/apt/sources.list*" >&2
        return 1
    fi
    root=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,python3-venv "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
        || { tail -20 "$root.log" >&2; return 1; }
    # This machine's CA bundle: pip in the image reaches the package index through the same egress.
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt" 2>/dev/null \
        || { mkdir -p "$root/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"; }
    rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc "$root"/usr/share/man \
        "$root"/usr/share/locale "$root"/usr/share/info
    tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin PIP_CERT=/etc/ssl/certs/ca-certificates.crt' - "$1" >/dev/null
    rm -rf "$root" "$root.log"
}
