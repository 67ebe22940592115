#!/usr/bin/env bash
# Upload throughput of ftpgate's embedded FTP door against pure-ftpd, same disk, same run.
#
# 200 JPEG-headed files of 10 MiB (2000 MiB) uploaded with lftp `mirror -R --parallel=4`, over
# plain FTP and over FTPS (AUTH TLS, protected data), to:
#   - ftpgate serve (release build, local blob store: every file fsynced and committed to the
#     catalog before its 226),
#   - pure-ftpd from Debian (writes into the page cache, no fsync).
# Prints a table with MiB/s and the ratio ftpgate / pure-ftpd per mode. Run by hand, not in CI:
#
#   cargo build --release && bench/ftp_vs_pureftpd.sh
#
# Environment: FILES (200), SIZE_MIB (10), PARALLEL (4), BENCH_DIR (a new dir under /tmp; put
# it on the disk to measure), ROUNDS (1: best of N), KEEP=1 to keep the work dir.
# Needs: lftp, pure-ftpd + pure-pw (apt-get install lftp pure-ftpd), openssl, python3.
set -euo pipefail

FILES=${FILES:-200}
SIZE_MIB=${SIZE_MIB:-10}
PARALLEL=${PARALLEL:-4}
ROUNDS=${ROUNDS:-1}
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${FTPGATE_BIN:-$REPO/target/release/ftpgate}
unset FTPGATE_BIN  # every FTPGATE_* variable is read as configuration by ftpgate itself
WORK=${BENCH_DIR:-$(mktemp -d /tmp/ftpbench.XXXXXX)}
mkdir -p "$WORK"

for tool in lftp pure-ftpd pure-pw openssl python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y lftp pure-ftpd openssl)" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "missing $BIN: run cargo build --release" >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    if [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

# --- source files ------------------------------------------------------------------------
SRC=$WORK/src
if [ ! -d "$SRC" ]; then
    echo "creating $FILES x $SIZE_MIB MiB JPEG-headed files in $SRC" >&2
    mkdir -p "$SRC"
    python3 - "$SRC" "$FILES" "$SIZE_MIB" <<'EOF'
import os, sys
src, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
head = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
size = mib * 1024 * 1024
block = os.urandom(1024 * 1024)
for i in range(n):
    with open(os.path.join(src, f"DSC_{i:04d}.JPG"), "wb") as f:
        f.write(head)
        left = size - len(head) - 2
        k = i.to_bytes(4, "little")  # files differ (ftpgate keeps one copy of identical files)
        while left > 0:
            chunk = (k + block)[: min(left, len(block))]
            f.write(chunk)
            left -= len(chunk)
        f.write(b"\xff\xd9")
EOF
fi
TOTAL_MIB=$((FILES * SIZE_MIB))
sync

# --- ftpgate -----------------------------------------------------------------------------
GW_DATA=$WORK/ftpgate-data
GW_FTP=$(free_port)
GW_HTTP=$(free_port)
export FTPGATE_DATA_DIR=$GW_DATA FTPGATE_HTTP__LISTEN=127.0.0.1:$GW_HTTP \
    FTPGATE_FTP__ENABLED=true FTPGATE_FTP__LISTEN=127.0.0.1:$GW_FTP \
    FTPGATE_FTP__PASSIVE_PORTS=41000-41099 FTPGATE_FTP__MAX_SESSIONS_PER_USER=50 \
    FTPGATE_LOG__LEVEL=warn
mkdir -p "$GW_DATA"
GW_PW=bench-password-1234
"$BIN" photographer add bench --password-stdin <<<"$GW_PW" >/dev/null
"$BIN" event add bench-ev >/dev/null
"$BIN" grant add bench bench-ev --role uploader >/dev/null
"$BIN" serve >"$WORK/ftpgate.log" 2>&1 &
PIDS+=($!)

# --- pure-ftpd ---------------------------------------------------------------------------
PF=$WORK/pureftpd
PF_HOME=$PF/home
PF_PORT=$(free_port)
PF_PW=bench-password-1234
mkdir -p "$PF_HOME"
chown nobody "$PF_HOME"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$PF/key.pem" -out "$PF/cert.pem" 2>/dev/null
printf '%s\n%s\n' "$PF_PW" "$PF_PW" |
    pure-pw useradd bench -u "$(id -u nobody)" -g "$(id -g nobody)" -d "$PF_HOME" -f "$PF/passwd" >/dev/null
# pure-pw hashes with argon2id at t=127 (4 s per login here); logins are not what is measured,
# so use SHA-512 crypt instead (ftpgate's argon2id login takes tens of milliseconds).
HASH=$(openssl passwd -6 "$PF_PW")
python3 - "$PF/passwd" "$HASH" <<'EOF'
import sys
path, h = sys.argv[1], sys.argv[2]
f = open(path).read().split(":")
f[1] = h
open(path, "w").write(":".join(f))
EOF
pure-pw mkdb "$PF/pureftpd.pdb" -f "$PF/passwd"
pure-ftpd -S "127.0.0.1,$PF_PORT" -p 42000:42099 -l "puredb:$PF/pureftpd.pdb" -E -H -A \
    -c 50 -C 50 -Y 1 -2 "$PF/cert.pem,$PF/key.pem" >"$WORK/pureftpd.log" 2>&1 &
PIDS+=($!)

for port in "$GW_FTP" "$PF_PORT"; do
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
done

# --- runs --------------------------------------------------------------------------------
# lftp settings: fail fast, no certificate check (self-signed on both), TLS per mode.
PLAIN="set ftp:ssl-allow no;"
TLS="set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ssl:verify-certificate no;"
COMMON="set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 30; set xfer:clobber yes;"

# run NAME MODE PORT USER PW REMOTE_BASE -> seconds
run() {
    local name=$1 mode=$2 port=$3 user=$4 pw=$5 base=$6 round=$7
    local settings=$PLAIN
    [ "$mode" = ftps ] && settings=$TLS
    local target="$base/run-$mode-$round"
    sync
    local t0 t1
    t0=$(date +%s.%N)
    lftp -c "$COMMON $settings open -u $user,$pw -p $port 127.0.0.1; mirror -R --parallel=$PARALLEL --no-perms $SRC $target" \
        >"$WORK/lftp-$name-$mode-$round.log" 2>&1 || {
        echo "lftp failed for $name $mode (see $WORK/lftp-$name-$mode-$round.log)" >&2
        cat "$WORK/lftp-$name-$mode-$round.log" >&2
        exit 1
    }
    t1=$(date +%s.%N)
    sync  # what it takes until the files are on disk (ftpgate's are, before each 226)
    local t2
    t2=$(date +%s.%N)
    local count
    count=$(lftp -c "$COMMON $settings open -u $user,$pw -p $port 127.0.0.1; cls -1 $target/" | wc -l)
    [ "$count" -eq "$FILES" ] || { echo "$name $mode: $count files on the server, expected $FILES" >&2; exit 1; }
    # Free the space again (not timed).
    lftp -c "$COMMON $settings open -u $user,$pw -p $port 127.0.0.1; rm -r $target" >/dev/null 2>&1 || true
    python3 -c "print(f'{$t1 - $t0:.3f} {$t2 - $t0:.3f}')"
}

declare -A BEST
for round in $(seq "$ROUNDS"); do
    for mode in ftp ftps; do
        for server in pureftpd ftpgate; do
            if [ "$server" = ftpgate ]; then
                s=$(run ftpgate "$mode" "$GW_FTP" bench "$GW_PW" /bench-ev "$round")
            else
                s=$(run pureftpd "$mode" "$PF_PORT" bench "$PF_PW" "" "$round")
            fi
            read -r s ssync <<<"$s"
            echo "round $round: $server $mode ${s}s (${ssync}s until synced)" >&2
            key="$server-$mode"
            if [ -z "${BEST[$key]:-}" ] || python3 -c "import sys; sys.exit(0 if $s < ${BEST[$key]} else 1)"; then
                BEST[$key]=$s
                BEST[$key-sync]=$ssync
            fi
        done
    done
done

# Reference: reading the source files and writing them once to the same disk.
sync
t0=$(date +%s.%N)
cat "$SRC"/* >"$WORK/cat-sink"
t1=$(date +%s.%N)
sync
t2=$(date +%s.%N)
rm -f "$WORK/cat-sink"
CAT=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
CATSYNC=$(python3 -c "print(f'{$t2 - $t0:.3f}')")

python3 - "$TOTAL_MIB" "$FILES" "$SIZE_MIB" "$PARALLEL" "${BEST[pureftpd-ftp]}" "${BEST[ftpgate-ftp]}" \
    "${BEST[pureftpd-ftps]}" "${BEST[ftpgate-ftps]}" "$CAT" "$CATSYNC" \
    "${BEST[pureftpd-ftp-sync]}" "${BEST[pureftpd-ftps-sync]}" <<'EOF'
import sys
total, files, size, par = (int(x) for x in sys.argv[1:5])
pf, gw, pfs, gws, cat, catsync, pfsync, pfssync = (float(x) for x in sys.argv[5:13])
print(f"\n{files} x {size} MiB JPEGs, lftp mirror -R --parallel={par}, loopback, same disk\n")
print(f"{'mode':<6} {'pure-ftpd':>16} {'ftpgate':>16} {'ftpgate/pure-ftpd':>18}"
      f" {'pure-ftpd+sync':>17} {'ftpgate/(pure-ftpd+sync)':>25}")
for mode, a, b, c in (("FTP", pf, gw, pfsync), ("FTPS", pfs, gws, pfssync)):
    print(f"{mode:<6} {total/a:>9.1f} MiB/s {total/b:>9.1f} MiB/s {a/b:>17.2f}x"
          f" {total/c:>11.1f} MiB/s {c/b:>24.2f}x")
print(f"\nreference: cat to the same disk {total/cat:.1f} MiB/s (page cache), "
      f"{total/catsync:.1f} MiB/s including sync")
print(f"seconds: pure-ftpd {pf:.2f} / {pfs:.2f}, ftpgate {gw:.2f} / {gws:.2f} (FTP / FTPS)")
EOF
