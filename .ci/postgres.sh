# Sourced by .ci/run: starts a throwaway PostgreSQL cluster (Debian's
# postgresql package) on a free local port in a temporary directory, owned
# by a non-root user, exports PATCHWATCH_TEST_POSTGRES_DSN, and stops and
# removes the cluster when the calling shell exits.

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ci: PostgreSQL is not installed and this user cannot install it (apt-get install postgresql)" >&2
    exit 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN=$(pg_bin)

PG_DIR=$(mktemp -d /tmp/patchwatch-pg.XXXXXX)
chmod 700 "$PG_DIR"
# initdb refuses root: the cluster belongs to the postgres user when CI
# runs as root, else to the calling user.
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$PG_DIR"
  as_pg() { su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; }
else
  as_pg() { "$@"; }
fi

ci_pg_stop() {
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
}
trap ci_pg_stop EXIT

# A password, so that the tests go through real authentication (and the
# redaction of the DSN's password is exercised).
PG_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$PG_PASSWORD" >"$PG_DIR/pwfile"
[ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR/pwfile"
as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A scram-sha-256 --pwfile="$PG_DIR/pwfile" >"$PG_DIR/initdb.log" 2>&1 ||
  { cat "$PG_DIR/initdb.log" >&2; exit 1; }
rm -f "$PG_DIR/pwfile"

# The first free port from a random start: parallel CI jobs do not collide.
PG_PORT=$((20000 + RANDOM % 20000))
while (: </dev/tcp/127.0.0.1/$PG_PORT) 2>/dev/null; do PG_PORT=$((PG_PORT + 1)); done
# fsync off: a test cluster, thrown away after the run.
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null ||
  { cat "$PG_DIR/server.log" >&2; exit 1; }
PGPASSWORD=$PG_PASSWORD "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres patchwatch_test
export PATCHWATCH_TEST_POSTGRES_DSN="postgres://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/patchwatch_test?sslmode=disable"
echo "ci: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
