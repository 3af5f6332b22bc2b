#!/usr/bin/env bash
# Runs a private PostgreSQL for meshperf's tests, on 127.0.0.1 with trust
# authentication: for local test use only.
#
#   scripts/pg.sh start [DIR [PORT]]   start it (initdb on first use) and print its DSN
#   scripts/pg.sh dsn   [DIR]          print the DSN of the running server
#   scripts/pg.sh stop  [DIR]          stop it (the data stay in DIR)
#
# DIR defaults to $MESHPERF_PG_DIR or ${TMPDIR:-/tmp}/meshperf-pg; PORT to a
# free one, kept in DIR/port for later starts. Both commands are idempotent.
# Installs PostgreSQL with apt-get if initdb is missing. Run as root, the
# server runs as user postgres (it refuses root). Only the DSN goes to
# stdout, e.g. for
#   export MESHPERF_TEST_POSTGRES="$(scripts/pg.sh start)"
set -euo pipefail

cmd="${1:-}"
dir="${2:-${MESHPERF_PG_DIR:-${TMPDIR:-/tmp}/meshperf-pg}}"
want_port="${3:-}"
db=meshperf_test

log() { echo "pg.sh: $*" >&2; }
die() { log "$*"; exit 1; }

sudo_cmd=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
	sudo_cmd=(sudo)
fi

# bindir finds PostgreSQL's server programs, installing them if missing.
bindir() {
	local initdb
	initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1 || true)"
	if [ -z "$initdb" ]; then
		log "installing postgresql"
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-cache show postgresql >/dev/null 2>&1; then
			"${sudo_cmd[@]}" apt-get update -qq >&2
		fi
		"${sudo_cmd[@]}" apt-get install -y -qq postgresql >&2
		initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1 || true)"
		[ -n "$initdb" ] || die "postgresql installed, but no /usr/lib/postgresql/*/bin/initdb"
	fi
	dirname "$initdb"
}

# as_pg runs a command as the cluster's owner: postgres when we are root.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

dsn() { echo "postgres://postgres@127.0.0.1:$1/$db?sslmode=disable"; }

running() { [ -f "$dir/port" ] && as_pg "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; }

# free_port prints a port nothing listens on (from a random start).
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

start() {
	mkdir -p "$dir"
	dir="$(cd "$dir" && pwd)"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir"
		as_pg test -w "$dir" || die "user postgres cannot write to $dir: choose a DIR it can reach (e.g. under /tmp)"
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		log "initdb in $dir/data"
		as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
			die "initdb failed: see $dir/initdb.log"
	fi
	if running; then
		port="$(cat "$dir/port")"
		if [ -n "$want_port" ] && [ "$want_port" != "$port" ]; then
			die "already running on port $port, not $want_port: stop it first"
		fi
	else
		local tries=0
		while :; do
			port="${want_port:-$(free_port)}"
			# Sockets in DIR, not /var/run/postgresql; durability off: test data.
			if as_pg "$bin/pg_ctl" start -D "$dir/data" -l "$dir/server.log" -w -t 30 -o \
				"-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null; then
				break
			fi
			tries=$((tries + 1))
			if [ -n "$want_port" ] || [ "$tries" -ge 3 ]; then
				die "could not start PostgreSQL: see $dir/server.log"
			fi
			log "port $port taken? trying another"
		done
		echo "$port" >"$dir/port"
	fi
	for _ in $(seq 60); do
		"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && break
		sleep 0.5
	done
	"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres || die "PostgreSQL on port $port is not ready: see $dir/server.log"
	if [ "$("$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
		"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
	fi
	log "PostgreSQL in $dir on 127.0.0.1:$port"
	dsn "$port"
}

stop() {
	if as_pg "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
		as_pg "$bin/pg_ctl" stop -D "$dir/data" -m fast -w >/dev/null
		log "stopped PostgreSQL in $dir"
	fi
	rm -f "$dir/port"
}

case "$cmd" in
start)
	bin="$(bindir)"
	start
	;;
stop)
	[ -d "$dir" ] || exit 0
	bin="$(bindir)"
	stop
	;;
dsn)
	bin="$(bindir)"
	running || die "not running in $dir"
	dsn "$(cat "$dir/port")"
	;;
*)
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
