#!/usr/bin/env bash
# The web viewer's benchmark (not a test): a 500-slice 512×512 CT series (the shared bench
# generator, or bench/viewer's own copy of its parameters) imported into a fresh `lightbox serve`
# on loopback, opened in headless Chromium RUNS times; bench.mjs measures with the Performance
# API from opening to the first image and to every slice, the scrolling rate and the tab's
# memory; floor.mjs, run by run in turn with it, measures a minimal page doing only what cannot
# be avoided, as this machine's floor. Results are printed as JSON lines; docs/performance.md
# ("Web viewer") keeps them.
#
# Needs: Go, Node.js, /usr/bin/chromium and tests/viewer's packages (scripts/install-browser-deps.sh).
# Environment: RUNS (default 3), SLICES (500), GEN (the generator's source directory, default
# ../shared/bench/gen beside the repository, or $LIGHTBOX_BENCH_GEN), KEEP=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${RUNS:=3}" "${SLICES:=500}"
GEN=${GEN:-${LIGHTBOX_BENCH_GEN:-../shared/bench/gen}}
tmp=$(mktemp -d /tmp/lightbox-viewer-bench.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$tmp"; else echo "kept $tmp"; fi
}
trap cleanup EXIT

# Chromium and tests/viewer's playwright-core, when missing (Debian; safe to re-run).
[ -x /usr/bin/chromium ] && [ -d tests/viewer/node_modules/playwright-core ] || bash scripts/install-browser-deps.sh
go build -o "$tmp/lightbox" ./cmd/lightbox
(cd "$GEN" && go build -o "$tmp/dicomgen" .)
"$tmp/dicomgen" -out "$tmp/ct" -patients 1 -studies 1 -series 1 -instances "$SLICES" -mr 0 -seed 7 -pidprefix VWR >/dev/null
study=$(awk -F'\t' 'NR==2 {print $3}' "$tmp/ct/manifest.tsv")
rm "$tmp/ct/manifest.tsv"
"$tmp/lightbox" import --data "$tmp/data" "$tmp/ct" | tail -1

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http=$(port)
dicom=$(port)
"$tmp/lightbox" serve --data "$tmp/data" --http-addr "127.0.0.1:$http" --dicom-addr "127.0.0.1:$dicom" >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$http/healthz" >/dev/null && break
  sleep 0.1
done
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# The viewer and the floor (floor.mjs: a minimal page doing only the unavoidable requests and
# copies on this machine) take turns, run by run, so that both meet the same machine.
for _ in $(seq "$RUNS"); do
  node bench/viewer/bench.mjs --base "http://127.0.0.1:$http" --study "$study" --runs 1 | grep -v '"summary"'
  node bench/viewer/floor.mjs --base "http://127.0.0.1:$http" --study "$study" --runs 1 | grep -v '"summary"'
done | tee "$tmp/runs.jsonl"
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(l => JSON.parse(l));
  const median = (rows, k) => { const v = rows.map(r => r[k]).filter(x => typeof x === "number").sort((a, b) => a - b); return v.length ? v[Math.floor(v.length / 2)] : null; };
  const viewer = lines.filter(r => "run" in r), floor = lines.filter(r => "floorRun" in r);
  const keys = ["firstImageMs", "allLoadedMs", "scrollFps", "rafFps", "drawMedianMs", "rendererRssMiB", "rendererPssMiB", "jsHeapUsedMiB", "pixelMiB"];
  console.log(JSON.stringify({ summary: "median", runs: viewer.length, ...Object.fromEntries(keys.map(k => [k, median(viewer, k)])) }));
  console.log(JSON.stringify({ summary: "floor median", runs: floor.length, firstImageMs: median(floor, "firstImageMs"), allLoadedMs: median(floor, "allLoadedMs") }));
' "$tmp/runs.jsonl"
echo "machine after: load average $(cut -d' ' -f1-3 /proc/loadavg)"
