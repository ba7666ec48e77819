# A throwaway PostgreSQL cluster for the suite's PostgreSQL pass, from Debian's binaries: its data
# under a folder of its own, listening on loopback alone, on a free port; never the machine's
# own clusters. Sourced by .ci/run, which runs as root: the server runs as the postgres user.
#   start_postgresql DIR   initdb and start; export KUBEWATCH_TEST_DATABASE naming it
#   stop_postgresql        stop it at once (nothing in it is kept) and remove DIR

postgresql_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

start_postgresql() {
    PG_DIR="$1"
    local bin port
    bin=$(postgresql_bin)
    [ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo ".ci/run: PostgreSQL's initdb is not installed" >&2; return 1; }
    id postgres >/dev/null 2>&1 || { echo ".ci/run: the postgres user is missing" >&2; return 1; }
    mkdir -p "$PG_DIR" && chown postgres: "$PG_DIR" && chmod 700 "$PG_DIR"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    runuser -u postgres -- "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --no-sync \
        >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    PG_CTL="$bin/pg_ctl"
    # fsync and full pages off: a test cluster thrown away after the run need not survive a crash
    # (the crash tests are about SQLite files), and each test empties its database.
    runuser -u postgres -- "$PG_CTL" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
    export KUBEWATCH_TEST_DATABASE="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
}

stop_postgresql() {
    [ -n "${PG_DIR:-}" ] || return 0
    if [ -n "${PG_CTL:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
        runuser -u postgres -- "$PG_CTL" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_DIR"
}
