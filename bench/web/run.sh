#!/usr/bin/env bash
# Lightbox's DICOMweb (QIDO-RS, WADO-RS, STOW-RS at /dicom-web) beside Orthanc 1.10.1 and its
# DICOMweb plugin, on the shared bench harness (../shared/bench), end to end: build, generate,
# run both servers interleaved, print the targets table.
#
#   bench/web/run.sh                                   # lightbox orthanc lightbox (~30 min)
#   PHASES="lightbox" bench/web/run.sh                 # one Lightbox round only
#   PHASES="lightbox:r3 orthanc:r2" bench/web/run.sh   # more rounds, added to the same results
#   KEEP=1 PHASES=lightbox bench/web/run.sh            # keep the 50k archive in $WORK/lb-keep
#   PHASES=again bench/web/run.sh                      # HTTP phases again on $WORK/lb-keep
#
# Phases (PHASES; the default is "lightbox orthanc lightbox"):
#   lightbox  a fresh `lightbox serve` on free loopback ports with its DICOMweb at
#             http://127.0.0.1:PORT/dicom-web; the harness's ingest.sh (10k x 525 KB by C-STORE,
#             then the 400-instance STOW-RS set, one POST per series, then a QIDO count),
#             query.sh (C-FIND and QIDO-RS, 50 queries per pattern), retrieve.sh (C-GET, WADO-RS
#             study, study metadata, frames, rendered); then the server is stopped, the 40k x
#             64x64 "scale" set is added with `lightbox import`, the server started again and
#             query.sh run again (@50k).
#   orthanc   the harness's own run-orthanc.sh (ORTHANC_TCP_NODELAY=1, SCALE=1): the same
#             ingest/query/retrieve, then the scale set by 4 storescu and query.sh @50k.
#   again     query.sh @50k and retrieve.sh against the archive a KEEP=1 round left in
#             $WORK/lb-keep (for trying a change without re-ingesting; run id "again-N").
#   stow      STOW-RS alone, STOW_REPS times (3) interleaved: a fresh Lightbox, then a fresh
#             Orthanc (configured as run-orthanc.sh does), each given the 400-instance set by the
#             harness's benchtool.py stow (one POST per 25-instance series) on an empty archive.
# The load average is recorded beside every step (meta.load.*). C-MOVE is skipped (RUN_CMOVE=0)
# unless RUN_CMOVE=1: this bench is about DICOMweb.
#
# Tunables: WORK (${TMPDIR:-/tmp}/lbx-web-bench: data, results, logs), SHARED (../shared beside
# the repository), PHASES, KEEP, N_QUERIES/N_RETRIEVE/N_FRAMES (harness). The shared harness is
# read-only: it is copied to $WORK/harness and used as it is. Everything runs in a private network
# namespace (loopback only) unless NETNS=0; servers listen on 127.0.0.1, on ports found free, and
# are stopped by PID.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
WORK=${WORK:-${TMPDIR:-/tmp}/lbx-web-bench}
PHASES=${PHASES:-lightbox orthanc lightbox}
H=$WORK/harness
RES=$WORK/results
LBX=$WORK/bin/lightbox
export PATH=$PATH:/usr/local/go/bin

if [ -z "${IN_NETNS:-}" ]; then
  for t in storescu findscu getscu dump2dcm Orthanc python3 curl; do
    command -v "$t" >/dev/null || { echo "run.sh: $t not found (apt-get install -y --no-install-recommends dcmtk orthanc orthanc-dicomweb)" >&2; exit 1; }
  done
  [ -d "$SHARED/bench" ] || { echo "run.sh: $SHARED/bench not found (set SHARED)" >&2; exit 1; }
  echo "== build ($ROOT)"
  mkdir -p "$WORK/bin" "$RES"
  if [ -n "${LIGHTBOX_BIN:-}" ]; then
    [ "$LIGHTBOX_BIN" -ef "$LBX" ] || cp "$LIGHTBOX_BIN" "$LBX"   # built elsewhere (e.g. a snapshot of the tree)
  else
    (cd "$ROOT" && go build -trimpath -ldflags "-X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" -o "$LBX" ./cmd/lightbox)
  fi
  # The shared harness is read-only (it builds its generator into its own bin/): use a copy.
  rm -rf "$H"; cp -r "$SHARED/bench" "$H"; chmod -R u+w "$H"; rm -rf "$H/results"
  echo "== generate (harness gen.sh, GEN_SCALE=1) into $WORK/data"
  BENCH_ROOT=$WORK GEN_SCALE=1 "$H/gen.sh"
  if [ "${NETNS:-1}" = 1 ] && unshare -n true 2>/dev/null; then
    exec unshare -n -- env IN_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
  fi
fi

export BENCH_ROOT=$WORK RESULTS_DIR=$RES CLIENT_TCP_NODELAY=1 TCP_NODELAY=1 RUN_CMOVE=${RUN_CMOVE:-0}
SYS_LB=${SYS_LB:-lightbox-$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo dev)}
TSV() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@"; }
load() { # file system run step
  TSV "$2" "$3" "meta.load.$4" "$(cut -d' ' -f1-3 /proc/loadavg)" "" "" "1/5/15-min load average" >> "$1"
  echo "  load ($4): $(cut -d' ' -f1-3 /proc/loadavg)"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------- Lightbox server
LPID=
lb_start() { # datadir
  DPORT=$(freeport); HPORT=$(freeport); MOVE_PORT=$(freeport)
  while [ "$HPORT" = "$DPORT" ]; do HPORT=$(freeport); done
  while [ "$MOVE_PORT" = "$DPORT" ] || [ "$MOVE_PORT" = "$HPORT" ]; do MOVE_PORT=$(freeport); done
  "$LBX" serve --data "$1" --ae LIGHTBOX --dicom-addr "127.0.0.1:$DPORT" --http-addr "127.0.0.1:$HPORT" \
    --peer "BENCHSCU=127.0.0.1:$MOVE_PORT" >> "$1.log" 2>&1 &
  LPID=$!
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$HPORT/healthz" && break
    kill -0 "$LPID" 2>/dev/null || { cat "$1.log"; exit 1; }
    sleep 0.2
  done
  export SYSTEM=$SYS_LB TARGET_AE=LIGHTBOX TARGET_HOST=127.0.0.1 TARGET_DICOM_PORT=$DPORT \
    TARGET_HTTP_BASE=http://127.0.0.1:$HPORT/dicom-web TARGET_PID=$LPID MOVE_PORT
  echo "Lightbox pid $LPID: dicom $DPORT, http $HPORT/dicom-web, move destination $MOVE_PORT"
}
lb_stop() {
  if [ -n "$LPID" ] && kill -0 "$LPID" 2>/dev/null; then kill "$LPID"; wait "$LPID" 2>/dev/null || true; fi
  LPID=
}
instances() { curl -sf "http://127.0.0.1:$HPORT/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"])'; }
check_count() { # expected results label
  local got; got=$(instances)
  TSV "$SYSTEM" "$RUN_ID" "verify.$3_instances" "$got" inst "$1" "expected $1 (GET /healthz)" >> "$2"
  echo "  verify: $got/$1 instances"
  [ "$got" = "$1" ] || { echo "VERIFY FAILED: $got instances, want $1" >&2; exit 1; }
}

lightbox_round() { # run id
  export RUN_ID=$1 SYSTEM=$SYS_LB
  local out=$RES/$SYS_LB-$1.tsv D=$WORK/lb-$1
  export RESULTS_FILE=$out
  rm -rf "$D" "$D.log" "$out"
  lb_start "$D"
  load "$out" "$SYS_LB" "$1" start
  "$H/ingest.sh"
  check_count 10400 "$out" main
  load "$out" "$SYS_LB" "$1" after_ingest
  "$H/query.sh"
  load "$out" "$SYS_LB" "$1" after_query
  "$H/retrieve.sh"
  load "$out" "$SYS_LB" "$1" after_retrieve
  lb_stop
  echo "== scale: +40,000 small instances by lightbox import, then queries again"
  mapfile -t SC < <(ls -d "$WORK/data/scale"/*/)
  "$LBX" import --data "$D" "${SC[@]%/}" | tail -2
  lb_start "$D"
  check_count 50400 "$out" scale
  load "$out" "$SYS_LB" "$1" before_query@50k
  QUERY_LABEL=@50k "$H/query.sh"
  load "$out" "$SYS_LB" "$1" end
  TSV "$SYS_LB" "$1" sys.server_vmhwm "$(awk '/^VmHWM:/{printf "%.1f", $2/1024}' "/proc/$LPID/status")" MiB "" "peak RSS since the restart" >> "$out"
  lb_stop
  TSV "$SYS_LB" "$1" size.index@50k "$(du -cm "$D"/index.db* | tail -1 | cut -f1)" MiB "" "index.db + WAL" >> "$out"
  if [ "${KEEP:-0}" = 1 ]; then rm -rf "$WORK/lb-keep"; mv "$D" "$WORK/lb-keep"; else rm -rf "$D"; fi
}

again_round() {
  [ -d "$WORK/lb-keep" ] || { echo "no $WORK/lb-keep: run a round with KEEP=1 first" >&2; exit 1; }
  local n=1; while [ -e "$RES/$SYS_LB-again-$n.tsv" ]; do n=$((n + 1)); done
  export RUN_ID=again-$n SYSTEM=$SYS_LB
  local out=$RES/$SYS_LB-again-$n.tsv
  export RESULTS_FILE=$out
  lb_start "$WORK/lb-keep"
  load "$out" "$SYS_LB" "$RUN_ID" start
  QUERY_LABEL=@50k "$H/query.sh"
  load "$out" "$SYS_LB" "$RUN_ID" after_query
  "$H/retrieve.sh"
  load "$out" "$SYS_LB" "$RUN_ID" end
  lb_stop
}

# ---------------------------------------------------------------- Orthanc server (stow phase)
OPID=; OD=
orthanc_start() {
  OD=$(mktemp -d "$WORK/orthanc.XXXXXX")
  local hp dp; hp=$(freeport); dp=$(freeport)
  cat > "$OD/orthanc.json" <<JSON
{
  "Name": "lightbox-bench-orthanc", "StorageDirectory": "$OD/storage", "IndexDirectory": "$OD/index",
  "Plugins": [ "/usr/share/orthanc/plugins/libOrthancDicomWeb.so" ],
  "HttpPort": $hp, "DicomPort": $dp, "DicomAet": "ORTHANC", "RemoteAccessAllowed": false,
  "WebDavEnabled": false, "StorageCompression": false,
  "DicomWeb": { "Enable": true, "Root": "/dicom-web/", "EnableWado": true, "Host": "127.0.0.1:$hp" }
}
JSON
  TCP_NODELAY=1 Orthanc "$OD/orthanc.json" > "$OD/orthanc.log" 2>&1 &
  OPID=$!
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$hp/system" && break
    kill -0 "$OPID" 2>/dev/null || { cat "$OD/orthanc.log"; exit 1; }
    sleep 0.2
  done
  export SYSTEM=orthanc-1.10.1 TARGET_HTTP_BASE=http://127.0.0.1:$hp/dicom-web TARGET_PID=$OPID
}
orthanc_stop() {
  if [ -n "$OPID" ] && kill -0 "$OPID" 2>/dev/null; then kill "$OPID"; wait "$OPID" 2>/dev/null || true; fi
  OPID=; [ -n "$OD" ] && rm -rf "$OD"; OD=
}
trap 'lb_stop; orthanc_stop' EXIT

stow_once() { # system-label results-file
  python3 "$H/benchtool.py" snap "$WORK/work/snap-stow.json"
  python3 "$H/benchtool.py" stow stow_rs "$WORK/data/stow"
  python3 "$H/benchtool.py" snapdiff ingest_stow "$WORK/work/snap-stow.json"
}

stow_phase() {
  mkdir -p "$WORK/work"
  for k in $(seq "${STOW_FROM:-1}" $(( ${STOW_FROM:-1} + ${STOW_REPS:-3} - 1 ))); do
    if [ -n "${STOW_BEFORE_BIN:-}" ]; then   # another Lightbox binary (e.g. before a change), first
      local lbx=$LBX; LBX=$STOW_BEFORE_BIN
      export RUN_ID=stow-$k SYSTEM=${SYS_BEFORE:-lightbox-before} RESULTS_FILE=$RES/${SYS_BEFORE:-lightbox-before}-stow-$k.tsv
      rm -f "$RESULTS_FILE"; rm -rf "$WORK/lb-stow" "$WORK/lb-stow.log"
      lb_start "$WORK/lb-stow"; export SYSTEM=${SYS_BEFORE:-lightbox-before}
      load "$RESULTS_FILE" "$SYSTEM" "$RUN_ID" start
      stow_once
      lb_stop; rm -rf "$WORK/lb-stow"; LBX=$lbx
    fi
    export RUN_ID=stow-$k SYSTEM=$SYS_LB RESULTS_FILE=$RES/$SYS_LB-stow-$k.tsv
    rm -f "$RESULTS_FILE"
    local D=$WORK/lb-stow
    rm -rf "$D" "$D.log"
    lb_start "$D"
    load "$RESULTS_FILE" "$SYS_LB" "$RUN_ID" start
    stow_once
    lb_stop; rm -rf "$D"
    export SYSTEM=orthanc-1.10.1 RESULTS_FILE=$RES/orthanc-1.10.1-stow-$k.tsv
    rm -f "$RESULTS_FILE"
    orthanc_start
    load "$RESULTS_FILE" orthanc-1.10.1 "$RUN_ID" start
    stow_once
    orthanc_stop
  done
}

orthanc_round() { # run id
  local out=$RES/orthanc-1.10.1-$1.tsv
  rm -f "$out"
  load "$out" orthanc-1.10.1 "$1" start
  MOVE_PORT=$(freeport) ORTHANC_HTTP_PORT=$(freeport) ORTHANC_DICOM_PORT=$(freeport) \
    IN_NETNS=1 ORTHANC_TCP_NODELAY=1 SCALE=1 RUN_ID=$1 SYSTEM=orthanc-1.10.1 RESULTS_FILE=$out "$H/run-orthanc.sh"
  load "$out" orthanc-1.10.1 "$1" end
}

lr=0; orr=0
for p in $PHASES; do
  echo; echo "######## phase $p  (load $(cut -d' ' -f1-3 /proc/loadavg))"
  id=${p#*:}
  case $p in
    lightbox) lr=$((lr + 1)); lightbox_round "r$lr" ;;
    lightbox:*) lightbox_round "$id" ;;
    orthanc) orr=$((orr + 1)); orthanc_round "r$orr" ;;
    orthanc:*) orthanc_round "$id" ;;
    again) again_round ;;
    stow) stow_phase ;;
    *) echo "unknown phase $p" >&2; exit 2 ;;
  esac
done

echo; echo "######## results ($RES)"
python3 "$HERE/targets.py" "$RES"/*.tsv
