#!/usr/bin/env bash
# C-STORE throughput of Lightbox's DIMSE stack beside DCMTK's, in the same run, on loopback.
#
# N distinct 525 KB CT instances (512x512 16-bit, Explicit VR Little Endian, made by the shared
# generator ../shared/bench/gen) are sent over one association, interleaved REPS times, by:
#   storescu -> storescp --ignore   DCMTK both sides (the "DIMSE floor" of ../shared/bench)
#   storescu -> sink                DCMTK's SCU to our dimse.Server, data sets discarded
#   storescu -> sink (16 KiB PDU)   the same, our server advertising storescp's default max PDU
#   send     -> storescp --ignore   our dimse.Client to DCMTK's SCP
#   send     -> sink                ours both sides
# sink and send are the programs beside this script. For each run it records the wall clock of
# the client process (file scan, association, all stores, release), instances and MB per
# second, the server's CPU seconds (utime+stime from /proc/PID/stat) and peak RSS (VmHWM), and
# the client's CPU seconds and peak RSS (/usr/bin/time). DCMTK's tools run with TCP_NODELAY=1.
#
# Everything runs on loopback; by default in a private network namespace (as
# ../shared/bench/limits.sh does), NETNS=0 to run in the current one. Servers are stopped by
# PID. Tunables: N (2000), REPS (3), PORT (15110), WORK (${TMPDIR:-/tmp}/lbx-dimse-bench),
# SHARED (../shared beside the repository), KEEP_DATA=0 to delete the generated files at the end.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
N=${N:-2000}
REPS=${REPS:-3}
PORT=${PORT:-15110}
WORK=${WORK:-${TMPDIR:-/tmp}/lbx-dimse-bench}
KEEP_DATA=${KEEP_DATA:-1}
BIN=$WORK/bin
DATA=$WORK/data-$N
OUT=$WORK/results.tsv
LOGS=$WORK/logs
export TCP_NODELAY=1
mkdir -p "$BIN" "$LOGS"

need() { command -v "$1" >/dev/null || { echo "run.sh: $1 not found (apt-get install -y $2)" >&2; exit 1; }; }
need storescu dcmtk
need storescp dcmtk
need python3 python3
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time not found (apt-get install -y time)" >&2; exit 1; }
[ -d "$SHARED/bench/gen" ] || { echo "run.sh: $SHARED/bench/gen not found (set SHARED)" >&2; exit 1; }

if [ -z "${IN_NETNS:-}" ]; then
  echo "== build"
  (cd "$SHARED/bench/gen" && go build -o "$BIN/dicomgen" .)
  (cd "$ROOT" && go build -o "$BIN/sink" ./bench/dimse/sink && go build -o "$BIN/send" ./bench/dimse/send)
  # The measurements run in a private network namespace, loopback only.
  if [ "${NETNS:-1}" = 1 ] && unshare -n true 2>/dev/null; then
    exec unshare -n -- env IN_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
  fi
fi

if [ ! -f "$DATA/.complete" ]; then
  echo "== generate $N CT instances in $DATA"
  rm -rf "$DATA"
  # patients x 2 studies x 2 series x 25 instances, CT only.
  patients=$(( (N + 99) / 100 ))
  "$BIN/dicomgen" -out "$DATA" -patients "$patients" -studies 2 -series 2 -instances 25 -mr 0 >/dev/null
  # Keep exactly N instances.
  find "$DATA" -name '*.dcm' | sort | tail -n +$((N + 1)) | xargs -r rm -f
  touch "$DATA/.complete"
fi
count=$(find "$DATA" -name '*.dcm' | wc -l)
size=$(find "$DATA" -name '*.dcm' -printf '%s\n' | awk '{s+=$1} END {print s}')
[ "$count" -eq "$N" ] || { echo "run.sh: $count instances in $DATA, want $N" >&2; exit 1; }
echo "$count instances, $size bytes ($(( size / count )) bytes each)"
# Warm the page cache so that no run reads from disk.
find "$DATA" -name '*.dcm' -exec cat {} + >/dev/null

TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
listening() { ss -ltnH "sport = :$PORT" | grep -q .; }

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

start_server() { # kind log
  case $1 in
    storescp) storescp --ignore -aet SINK "$PORT" >"$2" 2>&1 & ;;
    sink) "$BIN/sink" -addr "127.0.0.1:$PORT" -aet SINK >"$2" 2>&1 & ;;
    sink16k) "$BIN/sink" -addr "127.0.0.1:$PORT" -aet SINK -maxpdu 16384 >"$2" 2>&1 & ;;
  esac
  SERVER_PID=$!
  for _ in $(seq 100); do listening && return 0; sleep 0.05; done
  echo "run.sh: server $1 not listening on $PORT" >&2
  exit 1
}

printf 'rep\tclient\tserver\tinstances\twall_s\tinst_per_s\tmb_per_s\tserver_cpu_s\tserver_peak_rss_mb\tclient_cpu_s\tclient_peak_rss_mb\n' >"$OUT"

measure() { # rep client server
  local rep=$1 client=$2 server=$3 log=$LOGS/$1-$2-$3
  start_server "$server" "$log.server"
  local cpu0 t0 t1 cpu1 hwm rc=0
  cpu0=$(cpu_ticks "$SERVER_PID")
  t0=$(date +%s.%N)
  case $client in
    storescu) /usr/bin/time -f '%U %S %M' -o "$log.time" \
      storescu -nh +sd +r +sp '*.dcm' -aet BENCHSCU -aec SINK 127.0.0.1 "$PORT" "$DATA" >"$log.client" 2>&1 || rc=$? ;;
    send) /usr/bin/time -f '%U %S %M' -o "$log.time" \
      "$BIN/send" -aet BENCHSCU -aec SINK "127.0.0.1:$PORT" "$DATA" >"$log.client" 2>&1 || rc=$? ;;
  esac
  t1=$(date +%s.%N)
  cpu1=$(cpu_ticks "$SERVER_PID")
  hwm=$(hwm_kb "$SERVER_PID")
  stop_server
  local errors
  errors=$(grep -c '^E:' "$log.client" || true)
  if [ "$rc" -ne 0 ] || [ "$errors" -ne 0 ]; then
    echo "run.sh: $client -> $server failed (exit $rc, $errors errors); see $log.client" >&2
    exit 1
  fi
  if [ "$server" != storescp ] && ! grep -q "received $N instances" "$log.server"; then
    echo "run.sh: $server did not receive $N instances: $(cat "$log.server")" >&2
    exit 1
  fi
  read -r cu cs cm <"$log.time"
  python3 - "$rep" "$client" "$server" "$N" "$size" "$t0" "$t1" "$cpu0" "$cpu1" "$TCK" "$hwm" "$cu" "$cs" "$cm" >>"$OUT" <<'PY'
import sys
rep, client, server, n, size, t0, t1, c0, c1, tck, hwm, cu, cs, cm = sys.argv[1:]
wall = float(t1) - float(t0)
n, size = int(n), int(size)
print("\t".join([rep, client, server, str(n), f"{wall:.3f}", f"{n / wall:.1f}", f"{size / 1e6 / wall:.1f}",
                 f"{(int(c1) - int(c0)) / int(tck):.2f}", f"{int(hwm) / 1024:.1f}",
                 f"{float(cu) + float(cs):.2f}", f"{int(cm) / 1024:.1f}"]))
PY
  tail -1 "$OUT" | awk -F'\t' '{printf "  rep %s  %-8s -> %-8s  %7s inst/s  %6s MB/s  server %5s cpu-s %7s MB  client %5s cpu-s %7s MB\n", $1, $2, $3, $6, $7, $8, $9, $10, $11}'
}

echo "== $REPS repetitions, interleaved (results: $OUT)"
for rep in $(seq "$REPS"); do
  measure "$rep" storescu storescp
  measure "$rep" storescu sink
  measure "$rep" storescu sink16k
  measure "$rep" send storescp
  measure "$rep" send sink
done

echo "== medians over $REPS repetitions"
python3 - "$OUT" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
keys = ["inst_per_s", "mb_per_s", "server_cpu_s", "server_peak_rss_mb", "client_cpu_s", "client_peak_rss_mb"]
order = []
for r in rows:
    if (r["client"], r["server"]) not in order:
        order.append((r["client"], r["server"]))
print("| client → server | inst/s | MB/s | server CPU s | server peak RSS MB | client CPU s | client peak RSS MB |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for c, s in order:
    rs = [r for r in rows if r["client"] == c and r["server"] == s]
    cells = []
    for k in keys:
        vals = [float(r[k]) for r in rs]
        cells.append(f"{statistics.median(vals):.1f} ({min(vals):.1f}–{max(vals):.1f})" if k in ("inst_per_s", "mb_per_s")
                     else f"{statistics.median(vals):.2f}" if k.endswith("cpu_s") else f"{statistics.median(vals):.1f}")
    print(f"| {c} → {s} | " + " | ".join(cells) + " |")
PY
if [ "$KEEP_DATA" = 0 ]; then rm -rf "$DATA"; fi
