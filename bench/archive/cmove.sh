#!/usr/bin/env bash
# Where the ~1 s of a C-MOVE goes: the same 26 MB study (50 x 525 KB) moved from a fresh
# 'lightbox serve' N times each way:
#   movescu+own-scp   movescu receiving the sub-association itself (+P, as ../shared/bench/retrieve.sh)
#   movescu->storescp movescu only requesting; dcmtk storescp is the move destination
#   lightbox->storescp 'lightbox move' requesting; storescp is the move destination
#   cget              getscu (C-GET on the same association), for reference
# Prints wall time per run (ms). Needs the datasets of run.sh ($WORK/data/main). Runs in a
# private network namespace (loopback only) unless NETNS=0; servers on 127.0.0.1, stopped by PID.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-${TMPDIR:-/tmp}/lbx-archive-bench}
N=${N:-5}
LBX=${LBX:-$WORK/bin/lightbox}
export TCP_NODELAY=1
if [ -z "${IN_NETNS:-}" ] && [ "${NETNS:-1}" = 1 ] && unshare -n true 2>/dev/null; then
  exec unshare -n -- env IN_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
[ -x "$LBX" ] || (cd "$ROOT" && make build >/dev/null && mkdir -p "$WORK/bin" && cp bin/lightbox "$LBX")
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
D=$WORK/cmove; rm -rf "$D"; mkdir -p "$D"
P=$WORK/data/main/LBX000000
"$LBX" import --data "$D/data" "$P" | tail -1
STUDY=$(awk -F'\t' '$1=="LBX000000"{print $3; exit}' "$WORK/data/main/manifest.tsv")
DP=$(freeport); HP=$(freeport); MP=$(freeport)
"$LBX" serve --data "$D/data" --ae LIGHTBOX --dicom-addr 127.0.0.1:$DP --http-addr 127.0.0.1:$HP \
  --peer BENCHSCU=127.0.0.1:$MP > "$D/serve.log" 2>&1 &
LPID=$!; SCP=
cleanup() {
  [ -n "$SCP" ] && kill "$SCP" 2>/dev/null; [ -n "$SCP" ] && wait "$SCP" 2>/dev/null
  kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$HP/healthz" && break; sleep 0.1; done
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
K=(-k QueryRetrieveLevel=STUDY -k StudyInstanceUID=$STUDY)
row() { printf '%-20s' "$1"; shift; for x in "$@"; do printf ' %6s' "$x"; done; echo; }
echo "study $STUDY, load $(cut -d' ' -f1-3 /proc/loadavg); wall ms per C-MOVE/C-GET of 50 x 525 KB"
r=(); for i in $(seq 1 "$N"); do rm -rf "$D/r"; mkdir -p "$D/r"
  r+=("$(ms movescu -S +P "$MP" -aet BENCHSCU -aem BENCHSCU -aec LIGHTBOX 127.0.0.1 "$DP" "${K[@]}" -od "$D/r")"); done
row movescu+own-scp "${r[@]}"
rm -rf "$D/r"; mkdir -p "$D/r"
storescp -aet BENCHSCU -od "$D/r" "$MP" > "$D/storescp.log" 2>&1 & SCP=$!; sleep 0.3
r=(); for i in $(seq 1 "$N"); do r+=("$(ms movescu -S -aet BENCHSCU -aem BENCHSCU -aec LIGHTBOX 127.0.0.1 "$DP" "${K[@]}")"); done
row movescu-\>storescp "${r[@]}"
r=(); for i in $(seq 1 "$N"); do r+=("$(ms "$LBX" move "LIGHTBOX@127.0.0.1:$DP" --calling-ae BENCHSCU --dest BENCHSCU -k "StudyInstanceUID=$STUDY")"); done
row lightbox-\>storescp "${r[@]}"
echo "storescp holds $(find "$D/r" -type f | wc -l) distinct files (expected 50; each run overwrites them)"
kill "$SCP"; wait "$SCP" 2>/dev/null || true; SCP=
r=(); for i in $(seq 1 "$N"); do rm -rf "$D/g"; mkdir -p "$D/g"
  r+=("$(ms getscu -S -aet BENCHSCU -aec LIGHTBOX 127.0.0.1 "$DP" "${K[@]}" -od "$D/g")"); done
row cget "${r[@]}"
