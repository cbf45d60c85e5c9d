# start_postgres: starts a throw-away PostgreSQL cluster on a free loopback port for this run and
# exports EDGEMETER_TEST_POSTGRES_URL; the cluster is stopped and removed when the script exits.
# shellcheck shell=bash

find_pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return 0; }
  done
  return 1
}

start_postgres() {
  local bin
  if ! bin=$(find_pg_bin); then
    say "PostgreSQL server not found: installing Debian's postgresql package"
    apt_install postgresql
    bin=$(find_pg_bin) || die "PostgreSQL is still missing after apt-get install postgresql"
  fi
  PG_DIR=$(mktemp -d /tmp/edgemeter-pg.XXXXXX)
  local port; port=$(free_port)
  local run_as=()
  # initdb refuses to run as root: run the cluster as the unprivileged 'postgres' user.
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_DIR"
    run_as=(runuser -u postgres --)
  fi
  "${run_as[@]}" "$bin/initdb" -D "$PG_DIR/data" -U edgemeter --auth=trust -E UTF8 >/dev/null
  "${run_as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c max_connections=200" start >/dev/null
  PG_STOP="${run_as[*]} $bin/pg_ctl -D $PG_DIR/data -m immediate stop"
  trap 'eval "$PG_STOP" >/dev/null 2>&1 || true; rm -rf "$PG_DIR"' EXIT
  export EDGEMETER_TEST_POSTGRES_URL="postgres://edgemeter@127.0.0.1:$port/postgres"
  say "PostgreSQL ready at $EDGEMETER_TEST_POSTGRES_URL"
}
