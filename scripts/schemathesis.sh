#!/usr/bin/env bash
# Schemathesis against the admin API (issue 5): starts `ftpgate serve` on SQLite on a free
# loopback port, makes an admin token with the CLI, seeds a photographer, an event and a grant,
# then runs `schemathesis run` on /api/v1/openapi.json with every check (server errors,
# response schemas, status codes, content types, headers, positive and negative data, auth,
# unsupported methods, stateful use-after-free / resource availability). Any failure fails the
# script. The gateway is stopped by its PID. Bounded to a few minutes on 2 cores.
#
#   scripts/schemathesis.sh                  the bounded run
#   scripts/schemathesis.sh --seed 42        extra arguments go to `schemathesis run`
#
# Environment:
#   FTPGATE_BIN           binary under test (default: `cargo build`'s target/debug/ftpgate)
#   ST_MAX_EXAMPLES       examples per operation and phase (default 50)
#   ST_CATALOG_URL        another catalog, e.g. postgres://postgres@127.0.0.1:5432/DB (an
#                         empty database); default: SQLite in the work dir
#   ST_SEED               random generation with this seed (default: deterministic generation,
#                         the same cases on every run)
#   ST_KEEP=1             keep the work dir (gateway log, report) afterwards
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/tests/integration/requirements.txt"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-50}"

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'scripts/schemathesis.sh: %s\n' "$*" >&2; exit 1; }

# --- the venv, as scripts/test makes it (same requirements, same stamp) --------------------
setup_python() {
  local stamp="$VENV/.requirements.sha256" want
  want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating the Python venv at $VENV"
    python3 -m venv "$VENV"
  fi
  if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]] || [[ ! -x "$VENV/bin/schemathesis" ]]; then
    log "installing $REQUIREMENTS"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
    echo "$want" >"$stamp"
  fi
}

# --- the gateway -----------------------------------------------------------------------------
BIN="${FTPGATE_BIN:-}"
WORK=""
GW_PID=""

stop_gateway() {
  if [[ -n "$GW_PID" ]] && kill -0 "$GW_PID" 2>/dev/null; then
    kill -TERM "$GW_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$GW_PID" 2>/dev/null || break
      sleep 0.2
    done
    kill -0 "$GW_PID" 2>/dev/null && kill -KILL "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
  fi
  GW_PID=""
}

cleanup() {
  local code=$?
  stop_gateway
  if [[ -n "$WORK" ]]; then
    if ((code != 0)) && [[ -f "$WORK/gateway.log" ]]; then
      printf '\n--- gateway log (last 60 lines) ---\n' >&2
      tail -n 60 "$WORK/gateway.log" >&2 || true
    fi
    if [[ "${ST_KEEP:-}" == 1 ]]; then
      log "kept $WORK"
    else
      rm -rf "$WORK"
    fi
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The gateway and the CLI read only the settings given here (no FTPGATE_* from the caller).
GW_ENV=()
set_gateway_env() {
  GW_ENV=()
  local v
  for v in $(compgen -e | grep '^FTPGATE_' || true); do
    GW_ENV+=(-u "$v")
  done
  GW_ENV+=(
    FTPGATE_DATA_DIR="$WORK/data"
    FTPGATE_HTTP__LISTEN="127.0.0.1:$PORT"
    FTPGATE_FTP__ENABLED=false
    FTPGATE_SFTPGO__HOME_DIR_BASE="$WORK/sftpgo-home"
    NO_COLOR=1
  )
  if [[ -n "${ST_CATALOG_URL:-}" ]]; then
    GW_ENV+=(FTPGATE_CATALOG__URL="$ST_CATALOG_URL")
  fi
}

gateway_env() {
  env "${GW_ENV[@]}" "$@"
}

start_gateway() {
  PORT="$(free_port)"
  set_gateway_env
  # `env` directly, not through the shell function: a function in the background runs in a
  # subshell, and $! would then be that subshell, not the gateway that must be stopped.
  env "${GW_ENV[@]}" "$BIN" serve >"$WORK/gateway.log" 2>&1 &
  GW_PID=$!
  for _ in $(seq 1 100); do
    kill -0 "$GW_PID" 2>/dev/null || die "ftpgate serve exited during start-up"
    if "$VENV/bin/python" - "$PORT" <<'EOF' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1).read()
EOF
      return 0
    fi
    sleep 0.2
  done
  die "ftpgate serve did not answer /healthz within 20 s"
}

main() {
  setup_python
  if [[ -z "$BIN" ]]; then
    log "cargo build"
    (cd "$ROOT" && cargo build --quiet)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/ftpgate"
  fi
  [[ -x "$BIN" ]] || die "no ftpgate binary at $BIN"
  WORK="$(mktemp -d -t ftpgate-schemathesis.XXXXXX)"
  mkdir -p "$WORK/data"

  start_gateway
  log "gateway on 127.0.0.1:$PORT (pid $GW_PID), catalog ${ST_CATALOG_URL:-SQLite in $WORK/data}"
  local token
  token="$(gateway_env "$BIN" admin-token create schemathesis | tail -n 1)"
  [[ "$token" == fgat_* ]] || die "admin-token create printed no token"
  # Something to find: links and examples then reach the 200 paths too, not only the 404s.
  gateway_env "$BIN" photographer add alice >/dev/null
  gateway_env "$BIN" event add ev-a --name "Event A" >/dev/null
  gateway_env "$BIN" grant add alice ev-a >/dev/null
  gateway_env "$BIN" admin-token create spare >/dev/null  # one that DELETE /tokens/{name} may revoke

  # Two rules the document cannot express answer 400 to schema-valid input, and are allowed
  # here for those operations only: an upload window must end after it starts (events), and
  # a cursor must be one the API handed out (uploads, audit).
  cat >"$WORK/schemathesis.toml" <<'EOF'
headers = { Authorization = "Bearer ${FTPGATE_ST_TOKEN}" }

[[operations]]
include-name = "POST /api/v1/events"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

[[operations]]
include-name = "PATCH /api/v1/events/{id}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

[[operations]]
include-name = "GET /api/v1/events/{id}/uploads"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

[[operations]]
include-name = "GET /api/v1/audit"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]
EOF

  log "schemathesis run (at most $MAX_EXAMPLES examples per operation and phase)"
  cd "$WORK"
  # The token is passed through the environment, not on the command line (ps shows that).
  FTPGATE_ST_TOKEN="$token" "$VENV/bin/schemathesis" --no-color \
    --config-file "$WORK/schemathesis.toml" \
    run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
    --url "http://127.0.0.1:$PORT" \
    --checks all \
    --max-examples "$MAX_EXAMPLES" \
    --request-timeout 10 \
    $(if [[ -n "${ST_SEED:-}" ]]; then echo "--seed $ST_SEED"; else echo --generation-deterministic; fi) \
    --workers 1 \
    "$@"
  stop_gateway
}

main "$@"
