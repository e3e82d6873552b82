# Helpers for the deployment tests. Sourced.

_deploy_lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# free_port: a TCP port on 127.0.0.1 nothing listens on right now.
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_prometheus CONFIG DIR: a real Prometheus (Debian's package) on a
# free port with its data and log under DIR; waits until it is ready and
# sets PROM_PID and PROM_URL.
start_prometheus() {
  local config="$1" dir="$2" port i
  command -v prometheus >/dev/null || { echo "no prometheus (scripts/test installs it)" >&2; return 1; }
  for i in 1 2 3; do
    port="$(free_port)"
    prometheus --config.file="$config" --storage.tsdb.path="$dir/data" \
      --web.listen-address="127.0.0.1:$port" --web.enable-lifecycle \
      >"$dir/prometheus.log" 2>&1 &
    PROM_PID=$!
    PROM_URL="http://127.0.0.1:$port"
    local n
    for n in $(seq 1 150); do
      if curl -fsS --max-time 1 "$PROM_URL/-/ready" >/dev/null 2>&1; then
        return 0
      fi
      kill -0 "$PROM_PID" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$PROM_PID" 2>/dev/null || true
    wait "$PROM_PID" 2>/dev/null || true
    # The port may have been taken between free_port and the bind.
    echo "prometheus did not start on $port (attempt $i):" >&2
    tail -5 "$dir/prometheus.log" >&2
  done
  return 1
}

stop_prometheus() {
  [ -n "${PROM_PID:-}" ] || return 0
  kill -TERM "$PROM_PID" 2>/dev/null || true
  wait "$PROM_PID" 2>/dev/null || true
  PROM_PID=""
}

# prom_query EXPR: the instant query's JSON reply.
prom_query() {
  curl -fsS --max-time 10 "$PROM_URL/api/v1/query" --data-urlencode "query=$1"
}

# prom_has EXPR: true when the instant query returns at least one series.
prom_has() {
  local out
  out="$(prom_query "$1")" || return 1
  /usr/bin/python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["data"]["result"] else 1)' <<<"$out"
}
