#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster, then stop and delete the cluster,
# whatever the command's outcome. With DATABASE_URL already set, just run the command.
#
#   scripts/with_postgres.sh pytest -x
#
# PostgreSQL's initdb refuses to run as root, so as root the cluster runs as the unprivileged
# `postgres` system user, on a Unix socket in a temporary directory that user owns.
set -euo pipefail

if [ -n "${DATABASE_URL:-}" ]; then
  exec "$@"
fi

find_pg_bin() {
  local candidate
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/pg_ctl" ]; then
    pg_config --bindir
    return
  fi
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) /usr/local/pgsql/bin /usr/local/bin /usr/bin; do
    if [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/initdb" ]; then
      echo "$candidate"
      return
    fi
  done
  echo "PostgreSQL server binaries (initdb, pg_ctl) not found; install PostgreSQL or set DATABASE_URL" >&2
  exit 1
}

PG_BIN=$(find_pg_bin)
WORK=$(mktemp -d /tmp/ecf-pg.XXXXXX)
as_db_user() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$WORK"
fi

stop_cluster() {
  as_db_user "$PG_BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap stop_cluster EXIT INT TERM

as_db_user "$PG_BIN/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log" >&2; exit 1; }
# Durability is pointless for a cluster that is deleted after the run; speed is not.
as_db_user "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w -o \
  "-k $WORK -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
  start >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }

export DATABASE_URL="postgres://postgres@/ecf?host=$WORK"
as_db_user "$PG_BIN/createdb" -h "$WORK" -U postgres ecf
"$@"
