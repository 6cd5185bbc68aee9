#!/usr/bin/env bash
# The archive server (lightbox serve) beside Orthanc 1.10.1, on the shared bench harness
# (../shared/bench), end to end: build, generate, run both servers interleaved, print tables.
#
#   bench/archive/run.sh                    # everything: ~45 min of rounds on a quiet 2-core machine,
#                                           # plus the 1M import (~30 min at 540 inst/s); ~25 GB of disk
#   ROUNDS=1 BIG=0 bench/archive/run.sh     # one Lightbox + one Orthanc round, no 1M index
#   PHASES="lightbox:r3 orthanc:r3" bench/archive/run.sh   # one more round, appended to the results
#
# Phases (PHASES, in this order by default):
#   lightbox, orthanc  ROUNDS times interleaved (lightbox orthanc lightbox ... ): a fresh server
#                      each time; the harness's ingest.sh (10k x 525 KB: 5k on one storescu
#                      association, 5k with 4), query.sh, retrieve.sh (C-GET, C-MOVE), then the
#                      40k x 64x64 "scale" set with 4 storescu and query.sh again (@50k).
#                      Lightbox's DICOMweb is not measured: TARGET_HTTP_BASE is empty, RUN_STOW=0;
#                      Orthanc runs the harness's own run-orthanc.sh (ORTHANC_TCP_NODELAY=1),
#                      which also measures its DICOMweb side (not compared here).
#   import             `lightbox import` of the scale set (40k x 64x64) into a fresh directory.
#   big                main + scale + a generated set of BIG-50,000 small instances imported with
#                      `lightbox import` into one directory, then served, query.sh (@1M, without
#                      the ModalitiesInStudy pattern) and retrieve.sh again. BIG=0 skips it.
# Lightbox's RSS is sampled every 100 ms during each ingest (sys.*.server_rss_peak, VmHWM).
# The load average is recorded beside every phase (meta.load.*).
#
# Tunables: WORK (${TMPDIR:-/tmp}/lbx-archive-bench: data, results, logs), SHARED (../shared
# beside the repository), ROUNDS (2), BIG (1000000), PHASES, N_QUERIES/N_RETRIEVE (harness),
# LIGHTBOX_BIN (a lightbox binary to use instead of building one with make).
# The shared harness is read-only: it is copied to $WORK/harness (its scripts are used as they
# are). Everything runs in a private network namespace (loopback only) unless NETNS=0; servers
# listen on 127.0.0.1, on ports found free, and are stopped by PID.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
WORK=${WORK:-${TMPDIR:-/tmp}/lbx-archive-bench}
ROUNDS=${ROUNDS:-2}
BIG=${BIG:-1000000}
if [ -z "${PHASES:-}" ]; then
  PHASES=""
  for _ in $(seq 1 "$ROUNDS"); do PHASES="$PHASES lightbox orthanc"; done
  PHASES="$PHASES lightbox import"
  [ "$BIG" -gt 50000 ] && PHASES="$PHASES big"
fi
H=$WORK/harness
RES=$WORK/results
LBX=$WORK/bin/lightbox
export PATH=$PATH:/usr/local/go/bin

if [ -z "${IN_NETNS:-}" ]; then
  for t in storescu findscu movescu getscu dump2dcm Orthanc python3 curl; do
    command -v "$t" >/dev/null || { echo "run.sh: $t not found (apt-get install -y --no-install-recommends dcmtk orthanc orthanc-dicomweb)" >&2; exit 1; }
  done
  [ -d "$SHARED/bench" ] || { echo "run.sh: $SHARED/bench not found (set SHARED)" >&2; exit 1; }
  echo "== build ($ROOT)"
  mkdir -p "$WORK/bin" "$RES"
  if [ -n "${LIGHTBOX_BIN:-}" ]; then
    [ "$LIGHTBOX_BIN" -ef "$LBX" ] || cp "$LIGHTBOX_BIN" "$LBX"   # built elsewhere (e.g. a snapshot of the tree)
  else
    (cd "$ROOT" && make build >/dev/null && cp bin/lightbox "$LBX")
    (cd "$ROOT" && go build -o "$WORK/bin/profile" ./bench/archive/profile)
  fi
  # The shared harness is read-only (it builds its generator into its own bin/): use a copy.
  rm -rf "$H"; cp -r "$SHARED/bench" "$H"; chmod -R u+w "$H"; rm -rf "$H/results"
  # lib.sh defaults TARGET_HTTP_BASE with ":=", which also replaces an empty value, so the
  # documented "TARGET_HTTP_BASE= skips the HTTP tests" does not work: default it only when unset.
  sed -i 's/: "${TARGET_HTTP_BASE:=/: "${TARGET_HTTP_BASE=/' "$H/lib.sh"
  echo "== generate (harness gen.sh, GEN_SCALE=1) into $WORK/data"
  BENCH_ROOT=$WORK GEN_SCALE=1 "$H/gen.sh"
  if [ "$BIG" -gt 50000 ] && [[ " $PHASES " == *" big "* ]]; then   # only when the big phase runs
    want="-patients $(( (BIG - 50000) / 40 )) -studies 2 -series 2 -instances 10 -rows 64 -cols 64 -seed 4 -pidprefix BIG"
    if [ "$(cat "$WORK/data/big/.params" 2>/dev/null)" != "$want" ]; then
      echo "== generate $((BIG - 50000)) small instances into $WORK/data/big"
      df -h "$WORK" | tail -1
      rm -rf "$WORK/data/big"
      # shellcheck disable=SC2086
      "$H/bin/dicomgen" -out "$WORK/data/big" $want
      echo "$want" > "$WORK/data/big/.params"
    fi
  fi
  if [ "${NETNS:-1}" = 1 ] && unshare -n true 2>/dev/null; then
    exec unshare -n -- env IN_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
  fi
fi

export BENCH_ROOT=$WORK RESULTS_DIR=$RES CLIENT_TCP_NODELAY=1
# dcmtk keeps Nagle's algorithm on unless TCP_NODELAY=1 (lib.sh sets it for the harness's own
# scripts; the scale ingest below calls benchtool.py directly). Without it, small instances
# stall on delayed ACKs (~20-40 ms per C-STORE).
export TCP_NODELAY=1
SYS_LB=${SYS_LB:-lightbox-$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo dev)}
TSV() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@"; }
load() { # file system run phase
  TSV "$2" "$3" "meta.load.$4" "$(cut -d' ' -f1-3 /proc/loadavg)" "" "" "1/5/15-min load average" >> "$1"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------- Lightbox server
LPID=; SPID=
lb_start() { # datadir
  DPORT=$(freeport); HPORT=$(freeport); MOVE_PORT=$(freeport)
  while [ "$HPORT" = "$DPORT" ]; do HPORT=$(freeport); done
  while [ "$MOVE_PORT" = "$DPORT" ] || [ "$MOVE_PORT" = "$HPORT" ]; do MOVE_PORT=$(freeport); done
  "$LBX" serve --data "$1" --ae LIGHTBOX --dicom-addr "127.0.0.1:$DPORT" --http-addr "127.0.0.1:$HPORT" \
    --peer "BENCHSCU=127.0.0.1:$MOVE_PORT" > "$1.log" 2>&1 &
  LPID=$!
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$HPORT/healthz" && break
    kill -0 "$LPID" 2>/dev/null || { cat "$1.log"; exit 1; }
    sleep 0.2
  done
  export SYSTEM=$SYS_LB TARGET_AE=LIGHTBOX TARGET_HOST=127.0.0.1 TARGET_DICOM_PORT=$DPORT TARGET_HTTP_BASE= \
    RUN_STOW=0 TARGET_PID=$LPID MOVE_PORT
  echo "Lightbox pid $LPID: dicom $DPORT, http $HPORT, move destination $MOVE_PORT"
}
lb_stop() {
  if [ -n "$LPID" ] && kill -0 "$LPID" 2>/dev/null; then kill "$LPID"; wait "$LPID" 2>/dev/null || true; fi
  LPID=
}
instances() { curl -sf "http://127.0.0.1:$HPORT/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"])'; }
# RSS sampler: VmRSS of $1 every 100 ms into $2 (kB), until stopped.
rss_start() { ( while kill -0 "$1" 2>/dev/null; do awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null; sleep 0.1; done ) > "$2" & SPID=$!; }
rss_stop() { # file label results
  if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null || true; SPID=; fi
  local peak; peak=$(sort -n "$1" | tail -1)
  TSV "$SYSTEM" "$RUN_ID" "sys.$2.server_rss_peak" "$(awk -v k="$peak" 'BEGIN{printf "%.1f", k/1024}')" MiB "$(wc -l < "$1")" "max VmRSS, sampled every 100 ms" >> "$3"
  echo "  $2: peak VmRSS $(awk -v k="$peak" 'BEGIN{printf "%.1f", k/1024}') MiB"
}
cleanup() { rss_stop_quiet; lb_stop; }
rss_stop_quiet() { if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; SPID=; fi; }
trap cleanup EXIT

check_count() { # expected results label
  local got; got=$(instances)
  TSV "$SYSTEM" "$RUN_ID" "verify.$3_instances" "$got" inst "$1" "expected $1 (GET /healthz)" >> "$2"
  echo "  verify: $got/$1 instances"
  [ "$got" = "$1" ] || { echo "VERIFY FAILED: $got instances, want $1" >&2; exit 1; }
}

lightbox_round() { # run id
  export RUN_ID=$1
  local out=$RES/$SYS_LB-$1.tsv D=$WORK/lb-$1
  export RESULTS_FILE=$out   # for the benchtool.py calls made here (the harness scripts set it themselves)
  rm -rf "$D" "$out"
  lb_start "$D"
  load "$out" "$SYS_LB" "$1" start
  rss_start "$LPID" "$WORK/rss-$1-ingest.txt"
  "$H/ingest.sh"
  rss_stop "$WORK/rss-$1-ingest.txt" ingest_main "$out"
  check_count 10000 "$out" main
  load "$out" "$SYS_LB" "$1" after_ingest
  "$H/query.sh"
  "$H/retrieve.sh"
  load "$out" "$SYS_LB" "$1" after_retrieve
  echo "== scale: +40,000 small instances (4 storescu), then queries again"
  mapfile -t SC < <(ls -d "$WORK/data/scale"/*/)
  rss_start "$LPID" "$WORK/rss-$1-scale.txt"
  python3 "$H/benchtool.py" snap "$WORK/work/snap-ingest_scale.json"
  python3 "$H/benchtool.py" dimse-ingest storescu_parallel4_64x64 4 "${SC[@]%/}"
  python3 "$H/benchtool.py" snapdiff ingest_scale "$WORK/work/snap-ingest_scale.json"
  rss_stop "$WORK/rss-$1-scale.txt" ingest_scale "$out"
  check_count 50000 "$out" scale
  load "$out" "$SYS_LB" "$1" after_scale
  QUERY_LABEL=@50k "$H/query.sh"
  TSV "$SYS_LB" "$1" sys.server_vmhwm "$(awk '/^VmHWM:/{printf "%.1f", $2/1024}' "/proc/$LPID/status")" MiB "" "peak RSS of the whole run" >> "$out"
  lb_stop
  TSV "$SYS_LB" "$1" size.data@50k "$(du -sm "$D" | cut -f1)" MiB "" "index + instances" >> "$out"
  TSV "$SYS_LB" "$1" size.index@50k "$(du -cm "$D"/index.db* | tail -1 | cut -f1)" MiB "" "index.db + WAL" >> "$out"
  rm -rf "$D"
}

orthanc_round() { # run id
  local out=$RES/orthanc-1.10.1-$1.tsv
  rm -f "$out"
  load "$out" orthanc-1.10.1 "$1" start
  env -u RUN_STOW MOVE_PORT=$(freeport) ORTHANC_HTTP_PORT=$(freeport) ORTHANC_DICOM_PORT=$(freeport) \
    IN_NETNS=1 ORTHANC_TCP_NODELAY=1 SCALE=1 RUN_ID=$1 SYSTEM=orthanc-1.10.1 "$H/run-orthanc.sh"
  load "$out" orthanc-1.10.1 "$1" end
}

import_phase() {
  export RUN_ID=import SYSTEM=$SYS_LB
  local out=$RES/$SYS_LB-import.tsv D=$WORK/lb-import
  rm -rf "$D" "$out"
  load "$out" "$SYS_LB" import start
  echo "== lightbox import of the scale set (40k x 64x64)"
  mapfile -t SC < <(ls -d "$WORK/data/scale"/*/)   # the patient directories, not manifest.tsv
  /usr/bin/time -f '%e s %M kB %U+%S cpu' -o "$WORK/import-time.txt" "$LBX" import --data "$D" "${SC[@]%/}" | tee "$WORK/import.txt"
  rate=$(sed -n 's/.*: \([0-9.]*\) inst\/s.*/\1/p' "$WORK/import.txt")
  TSV "$SYS_LB" import ingest.import_64x64.instances_per_s "$rate" inst/s 40000 "lightbox import, jobs=$(nproc), empty archive" >> "$out"
  TSV "$SYS_LB" import sys.import_64x64.rss_peak "$(awk '{printf "%.1f", $3/1024}' "$WORK/import-time.txt")" MiB "" "$(cat "$WORK/import-time.txt")" >> "$out"
  load "$out" "$SYS_LB" import end
  rm -rf "$D"
}

big_phase() {
  export RUN_ID=big SYSTEM=$SYS_LB
  LABEL=$(( BIG / 1000 ))k; [ "$BIG" = 1000000 ] && LABEL=1M
  local out=$RES/$SYS_LB-big.tsv D=$WORK/lb-big
  rm -rf "$D" "$out"
  df -h "$WORK" | tail -1
  load "$out" "$SYS_LB" big start
  echo "== lightbox import: main + scale + big ($BIG instances)"
  # main (10k) + scale (40k) + the first (BIG-50k)/40 patients of the big set (40 instances each)
  mapfile -t DIRS < <(ls -d "$WORK/data/main"/*/ "$WORK/data/scale"/*/; ls -d "$WORK/data/big"/*/ | head -n $(( (BIG - 50000) / 40 )))
  /usr/bin/time -f '%e s %M kB %U+%S cpu' -o "$WORK/big-time.txt" "$LBX" import --data "$D" "${DIRS[@]%/}" | tail -3 | tee "$WORK/big-import.txt"
  rate=$(sed -n 's/.*: \([0-9.]*\) inst\/s.*/\1/p' "$WORK/big-import.txt")
  TSV "$SYS_LB" big ingest.import_big.instances_per_s "$rate" inst/s "$BIG" "lightbox import of main+scale+big, into an empty archive" >> "$out"
  TSV "$SYS_LB" big sys.import_big.rss_peak "$(awk '{printf "%.1f", $3/1024}' "$WORK/big-time.txt")" MiB "" "$(cat "$WORK/big-time.txt")" >> "$out"
  load "$out" "$SYS_LB" big after_import
  lb_start "$D"
  check_count "$BIG" "$out" big
  # ModalitiesInStudy is left out at this size: its plan is quadratic in the number of series
  # (see docs/performance.md), about 1 s per query at 50k and far beyond at 1M.
  grep -v -e 'cmd-latency "query.cfind.modality' -e 'batch "query.cfind.modality' \
    -e 'http-latency "query.qido.modality' "$H/query.sh" > "$H/query-nomod.sh"
  chmod +x "$H/query-nomod.sh"
  QUERY_LABEL=@$LABEL "$H/query-nomod.sh"
  "$H/retrieve.sh"
  load "$out" "$SYS_LB" big end
  lb_stop
  TSV "$SYS_LB" big size.index@$LABEL "$(du -cm "$D"/index.db* | tail -1 | cut -f1)" MiB "" "index.db + WAL" >> "$out"
  TSV "$SYS_LB" big size.data@$LABEL "$(du -sm "$D" | cut -f1)" MiB "" "index + instances" >> "$out"
  [ "${KEEP_BIG:-0}" = 1 ] || rm -rf "$D"
}

lr=0; orr=0
for p in $PHASES; do
  echo; echo "######## phase $p  (load $(cut -d' ' -f1-3 /proc/loadavg))"
  id=${p#*:}   # "lightbox:r3" names the run (to add rounds to an earlier invocation's results)
  case $p in
    lightbox) lr=$((lr + 1)); lightbox_round "r$lr" ;;
    lightbox:*) lightbox_round "$id" ;;
    orthanc) orr=$((orr + 1)); orthanc_round "nodelay-r$orr" ;;
    orthanc:*) orthanc_round "nodelay-$id" ;;
    import) import_phase ;;
    big) big_phase ;;
    *) echo "unknown phase $p" >&2; exit 2 ;;
  esac
done

echo; echo "######## results ($RES)"
python3 "$HERE/targets.py" "$RES"/*.tsv
echo
python3 "$H/report.py" --sys $(ls "$RES"/orthanc-*.tsv "$RES"/lightbox-*.tsv 2>/dev/null) | grep -v -e '\.wado' -e '\.qido' -e stow
