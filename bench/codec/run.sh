#!/usr/bin/env bash
# Pixel data codecs and rendering, Lightbox beside the reference tools, all in one run:
#
#   1. decoding per transfer syntax: rle.sh (dcmdrle), jpeg.sh (dcmdjpeg) and cgo.sh
#      (opj_decompress, ojph_expand, dcmdjpls), each timing the Go benchmark on the same frames;
#   2. encoding: HTJ2K lossless of a 512×512 16-bit CT frame beside ojph_compress, JPEG 2000
#      lossless beside opj_compress, JPEG-LS lossless beside dcmcjpls, RLE beside dcmcrle,
#      JPEG lossless beside dcmcjpeg;
#   3. rendering the 512×512 16-bit CT frame (window 40/400) to PNG, to JPEG and to a 128×128
#      JPEG thumbnail (BenchmarkRender) beside DCMTK's dcm2pnm/dcmj2pnm on the same file.
#
#   bench/codec/run.sh                 # or `make bench-codec`; ~5 minutes on a quiet 2-core machine
#   RUNS=20 BENCHTIME=2s bench/codec/run.sh
#
# A tool run is a whole process (start, parse, code, write). For the DCMTK tools the same
# command is also run on a 32×32 8-bit file, and the difference of the two ("net") estimates
# the cost of the work itself without process start-up and DICOM parsing. Process times are the
# best wall time of RUNS runs and the mean CPU time (user + system, from the shell's `times`).
# Go figures are wall time per operation from `go test -bench`, and for rendering also CPU time
# per operation (cpu-ns/op), which says more on a machine shared with other work. The load
# average is printed at the start and at the end: compare runs only at similar loads.
#
# Tunables: CORPUS (../shared/corpus beside the repository), RUNS (10), BENCHTIME (1s),
# LOG (a directory to keep the raw outputs in; a temporary one by default).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export CORPUS=${CORPUS:-$ROOT/../shared/corpus}
export LIGHTBOX_CORPUS=$CORPUS
export RUNS=${RUNS:-10}
export BENCHTIME=${BENCHTIME:-1s}

for tool in go awk dcm2pnm dcmj2pnm dcmconv dcmcrle dcmcjpeg dcmcjpls opj_compress ojph_compress; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (install dcmtk, libopenjp2-tools, openjph-tools, Go)" >&2; exit 1; }
done
[ -f "$CORPUS/MANIFEST.tsv" ] || { echo "run.sh: no corpus at $CORPUS (set CORPUS)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
LOG=${LOG:-$TMP}
mkdir -p "$LOG"
cd "$ROOT"

CT_DCM=$CORPUS/dicomParser__CT1_UNC.explicit_big_endian.dcm # the frame BenchmarkRender renders
CT_J2K=$CORPUS/DICOMHTJ2K__CT1_JPH.dcm                        # the frame the encoders code
TINY=$CORPUS/pydicom__chrFren.dcm                             # 32×32 8-bit, for start-up

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# measure CMD...: "<best wall ns> <mean CPU ns>" of RUNS runs of CMD, its output discarded.
measure() {
  (
    best=0
    for ((i = 0; i < RUNS; i++)); do
      t0=${EPOCHREALTIME/./}
      "$@" >/dev/null 2>&1 || { echo "run.sh: failed: $*" >&2; exit 1; }
      t1=${EPOCHREALTIME/./}
      d=$(((t1 - t0) * 1000))
      if [ "$best" -eq 0 ] || [ "$d" -lt "$best" ]; then best=$d; fi
    done
    # The second line of `times` is the children's user and system time, as 0m0.123s; it is
    # written to a file, since in a pipe or $(...) it would run in a new process of its own.
    times >"$TMP/times"
    cpu=$(awk 'NR == 2 {
      split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.0f", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1e9 }' "$TMP/times")
    echo "$best $((cpu / RUNS))"
  )
}

echo "# Lightbox pixel data benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) CPUs; $(go version | cut -d' ' -f3-4)"
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo '?'; }
echo "tools: dcmtk $(pkgver dcmtk), OpenJPEG tools $(pkgver libopenjp2-tools), OpenJPH tools $(pkgver openjph-tools)"
LOAD_START=$(loadavg)
echo "load average at start: $LOAD_START"
echo "RUNS=$RUNS BENCHTIME=$BENCHTIME CORPUS=$CORPUS"

echo
echo "## 1. Decoding (raw outputs of rle.sh, jpeg.sh, cgo.sh)"
echo "### RLE Lossless"
bash "$HERE/rle.sh" 2>&1 | tee "$LOG/rle.txt"
echo "### JPEG (load $(loadavg))"
sh "$HERE/jpeg.sh" "$((RUNS / 2 > 3 ? RUNS / 2 : 3))" 2>&1 | tee "$LOG/jpeg.txt"
echo "### JPEG 2000, HTJ2K, JPEG-LS (load $(loadavg))"
bash "$HERE/cgo.sh" 2>&1 | tee "$LOG/cgo.txt"

echo
echo "## 2. Encoding (load $(loadavg))"
go test -run '^$' -bench 'BenchmarkEncode' -benchtime "$BENCHTIME" ./codec/rle/ ./codec/jpeg/ 2>&1 |
  grep '^Benchmark' | tee "$LOG/encode-go.txt"
# Native little endian copy of the CT for the DCMTK encoders; 16-bit PGM for opj_compress.
dcmconv +te "$CT_DCM" "$TMP/ct.dcm"
go run bench/codec/cgo_extract.go pgm "$CT_J2K" "$TMP/ct.pgm" >/dev/null
dcmconv +te "$TINY" "$TMP/tiny.dcm"
{
  printf 'dcmcrle\t%s\t%s\n' "$(measure dcmcrle "$TMP/ct.dcm" "$TMP/o.dcm")" "$(measure dcmcrle "$TMP/tiny.dcm" "$TMP/o.dcm")"
  printf 'dcmcjpeg +e1\t%s\t%s\n' "$(measure dcmcjpeg +e1 "$TMP/ct.dcm" "$TMP/o.dcm")" "$(measure dcmcjpeg +e1 "$TMP/tiny.dcm" "$TMP/o.dcm")"
  printf 'dcmcjpls\t%s\t%s\n' "$(measure dcmcjpls "$TMP/ct.dcm" "$TMP/o.dcm")" "$(measure dcmcjpls "$TMP/tiny.dcm" "$TMP/o.dcm")"
  printf 'opj_compress\t%s\t-\n' "$(measure opj_compress -i "$TMP/ct.pgm" -o "$TMP/o.j2k")"
  printf 'ojph_compress\t%s\t-\n' "$(measure ojph_compress -i "$TMP/ct.pgm" -o "$TMP/o.j2c" -reversible true -prog_order RPCL -num_decomps 5)"
} >"$LOG/encode-tools.tsv"
cat "$LOG/encode-tools.tsv"

echo
echo "## 3. Rendering the 512×512 16-bit CT frame, window 40/400 (load $(loadavg))"
go test -run '^$' -bench 'BenchmarkRender|BenchmarkEncodeJPEG' -benchtime "$BENCHTIME" -count 3 ./render/ 2>&1 |
  grep '^Benchmark' | tee "$LOG/render-go.txt"
{
  for f in "PNG +on" "PNM +op" "JPEG +oj"; do
    set -- $f
    tool=dcm2pnm
    [ "$1" = JPEG ] && tool=dcmj2pnm
    printf '%s %s\t%s\t%s\n' "$tool" "$1" "$(measure "$tool" +Ww 40 400 "$2" "$CT_DCM")" "$(measure "$tool" +Ww 40 400 "$2" "$TINY")"
  done
} >"$LOG/render-tools.tsv"
cat "$LOG/render-tools.tsv"
LOAD_END=$(loadavg)

# ---- Summary ----
echo
echo "## Summary (load average $LOAD_START at start, $LOAD_END at end)"
echo
echo "### Decoding, MB/s of native pixels"
printf '%-26s %14s   %-16s %14s %12s\n' "syntax / input" "Lightbox MB/s" "tool" "tool MB/s" "tool net"
awk '/^all \(Go/ { printf "%-26s %14s   %-16s %14s %12s\n", "1.2.5 RLE (all files)", $(NF-2), "dcmdrle", $(NF-1), $NF }' "$LOG/rle.txt"
awk '
  /^== codec\/jpeg/ { sec = "go"; next }
  /^== DCMTK/ { sec = "tool"; next }
  sec == "go" && $3 == "MB/s" { go[$1] = $2 }
  sec == "tool" && $3 == "MB/s" { tool[$1] = $2; order[++n] = $1 }
  END { for (i = 1; i <= n; i++) { t = order[i]; s = t; sub(/^1\.2\.840\.10008\./, "", s)
    printf "%-26s %14s   %-16s %14s %12s\n", s " JPEG (all files)", go[t], "dcmdjpeg", tool[t], "-" } }' "$LOG/jpeg.txt"
awk '
  /^== reference tools/ { sec = "tool"; next }
  /^== ojph_compress/ { sec = ""; next }
  /^== Lightbox/ { sec = "go"; next }
  sec == "tool" && NF >= 6 { lbl[++n] = $1; tl[n] = $2; mb[n] = $3 }
  sec == "go" && /^BenchmarkDecode\// {
    name = $1; sub(/^BenchmarkDecode\//, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 1; i < NF; i++) if ($(i + 1) == "MB/s") v = $i
    if (name ~ /\/openjph$/) { sub(/\/openjph$/, "", name); jph[name] = v }
    else if (name ~ /\/isolated$/) { sub(/\/isolated$/, "", name); iso[name] = v }
    else if (name ~ /\/openjpeg$/) { sub(/\/openjpeg$/, "", name); ojp[name] = v }
    else dec[name] = v
  }
  # HTJ2K rows: OpenJPH in process, OpenJPH in a worker process (what the server runs), and
  # OpenJPEG in process (the fallback).
  END { for (i = 1; i <= n; i++) { l = lbl[i]; v = (l in jph) ? jph[l] " / " iso[l] " / " ojp[l] : dec[l]
    printf "%-26s %14s   %-16s %14s %12s\n", l, v, tl[i], mb[i], "-" } }' "$LOG/cgo.txt"

echo
echo "### Encoding"
printf '%-44s %-30s %-40s\n' "codec, input" "Lightbox" "tool (whole process; net of start-up)"
gofps() { awk -v b="$1" '$1 ~ b { for (i = 1; i < NF; i++) if ($(i + 1) == "frames/s") printf "%.0f frames/s\n", $i }' "$LOG/cgo.txt" | head -1; }
gomb() { awk -v b="$1" '$1 ~ b { for (i = 1; i < NF; i++) if ($(i + 1) == "MB/s") printf "%s MB/s\n", $i }' "$2" | head -1; }
tool() { # tool() NAME BYTES: frames/s of whole process (best wall), and net of the tiny file's run
  awk -F'\t' -v t="$1" -v b="$2" '$1 == t {
    split($2, a, " "); split($3, z, " ")
    s = sprintf("%s %.0f frames/s (%.1f ms, CPU %.1f ms)", t, 1e9 / a[1], a[1] / 1e6, a[2] / 1e6)
    if ($3 != "-" && a[1] > z[1]) s = s sprintf("; net %.1f MB/s", b / ((a[1] - z[1]) / 1e3))
    print s }' "$LOG/encode-tools.tsv"
}
printf '%-44s %-30s %-40s\n' "HTJ2K lossless RPCL, CT 512x512x16" "$(gofps 'BenchmarkEncode/CT_512x512x16')" "$(tool ojph_compress 524288)"
printf '%-44s %-30s %-40s\n' "JPEG 2000 lossless, CT 512x512x16" "$(gofps 'BenchmarkEncodeLossless')" "$(tool opj_compress 524288)"
printf '%-44s %-30s %-40s\n' "JPEG-LS lossless, CT 512x512x16" "$(awk '/^BenchmarkEncodeLossless/ { n++; if (n == 2) for (i = 1; i < NF; i++) if ($(i + 1) == "frames/s") printf "%.0f frames/s", $i }' "$LOG/cgo.txt")" "$(tool dcmcjpls 524288)"
printf '%-44s %-30s %-40s\n' "RLE (Go: all corpus RLE frames)" "$(gomb '^BenchmarkEncode-' "$LOG/encode-go.txt")" "$(tool dcmcrle 524288)"
printf '%-44s %-30s %-40s\n' "JPEG lossless SV1 (Go: 512x512 12-bit test)" "$(gomb 'lossless-16' "$LOG/encode-go.txt")" "$(tool 'dcmcjpeg +e1' 524288)"

echo
echo "### Rendering the CT frame: Lightbox in process, median of 3 (CPU ms per image; wall ms)"
awk '/^BenchmarkRender\// {
    name = $1; sub(/^BenchmarkRender\//, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 1; i < NF; i++) { if ($(i + 1) == "cpu-ns/op") c = $i; if ($(i + 1) == "ns/op") w = $i; if ($(i + 1) == "bytes") b = $i }
    k = ++n[name]; cpu[name, k] = c; wall[name, k] = w; size[name] = b; if (k == 1) order[++m] = name
  }
  function med(a, nm, k,   x, y, z) { x = a[nm, 1]; y = a[nm, 2]; z = a[nm, 3]; if (k < 3) return x
    return (x <= y) ? ((y <= z) ? y : ((x <= z) ? z : x)) : ((x <= z) ? x : ((y <= z) ? z : y)) }
  END { printf "%-18s %10s %10s %10s\n", "output", "CPU ms", "wall ms", "bytes"
    for (i = 1; i <= m; i++) { nm = order[i]
      printf "%-18s %10.2f %10.2f %10s\n", nm, med(cpu, nm, n[nm]) / 1e6, med(wall, nm, n[nm]) / 1e6, (size[nm] == "" ? "-" : size[nm]) } }' "$LOG/render-go.txt"
echo
echo "### The JPEG writer alone, 512x512 test images at quality 90, beside image/jpeg (median of 3)"
awk '/^BenchmarkEncodeJPEG\// {
    name = $1; sub(/^BenchmarkEncodeJPEG\//, "", name); sub(/-[0-9]+$/, "", name)
    for (i = 1; i < NF; i++) { if ($(i + 1) == "cpu-ns/op") c = $i; if ($(i + 1) == "bytes") b = $i }
    k = ++n[name]; cpu[name, k] = c; size[name] = b; if (k == 1) order[++m] = name
  }
  function med(a, nm, k,   x, y, z) { x = a[nm, 1]; y = a[nm, 2]; z = a[nm, 3]; if (k < 3) return x
    return (x <= y) ? ((y <= z) ? y : ((x <= z) ? z : x)) : ((x <= z) ? x : ((y <= z) ? z : y)) }
  END { printf "%-18s %10s %10s\n", "image, writer", "CPU ms", "bytes"
    for (i = 1; i <= m; i++) { nm = order[i]; printf "%-18s %10.2f %10s\n", nm, med(cpu, nm, n[nm]) / 1e6, size[nm] } }' "$LOG/render-go.txt"
echo
echo "### dcm2pnm / dcmj2pnm on the same file (whole process; net of the 32×32 file's run)"
printf '%-18s %12s %12s %14s %14s\n' "tool, output" "wall ms" "CPU ms" "net wall ms" "net CPU ms"
awk -F'\t' '{ split($2, a, " "); split($3, z, " ")
  printf "%-18s %12.2f %12.2f %14.2f %14.2f\n", $1, a[1] / 1e6, a[2] / 1e6, (a[1] - z[1]) / 1e6, (a[2] - z[2]) / 1e6 }' "$LOG/render-tools.tsv"
