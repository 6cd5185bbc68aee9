#!/usr/bin/env bash
# RLE Lossless decoding speed: Lightbox's Go decoder (codec/rle, BenchmarkDecode) beside DCMTK's
# dcmdrle on the RLE files of the shared corpus.
#
#   bench/codec/rle.sh              # ~1 minute on a quiet 2-core machine
#   RUNS=20 BENCHTIME=2s bench/codec/rle.sh
#
# MB/s are of decoded pixel bytes (the manifest's pixel_bytes). The Go figure times the decoder
# alone on frames already in memory; BenchmarkDecodeFile (the last line) also reads and parses
# every file, in one process. dcmdrle is a whole process: start, parse, decode, write. To
# separate the decoding, the same file is also run through `dcmconv` (parse and write again, no
# decoding) and the difference of the best times is reported as "dcmdrle net"; that figure is an
# estimate (dcmdrle writes the larger, decoded file). Times are the best of RUNS runs.
# Bits Allocated 1 files are left out: dcmdrle refuses 1-bit RLE.
#
# Tunables: CORPUS (../shared/corpus beside the repository), RUNS (10), BENCHTIME (1s).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
RUNS=${RUNS:-10}
BENCHTIME=${BENCHTIME:-1s}
TS=1.2.840.10008.1.2.5

for tool in dcmdrle dcmconv go awk; do
  command -v "$tool" >/dev/null || { echo "rle.sh: $tool not found (install dcmtk and Go)" >&2; exit 1; }
done
[ -f "$CORPUS/MANIFEST.tsv" ] || { echo "rle.sh: no corpus at $CORPUS (set CORPUS)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# file <TAB> pixel_bytes <TAB> bits_allocated of every RLE row with a reference.
awk -F'\t' -v ts="$TS" '
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  $col["transfer_syntax_uid"] == ts && $col["ref_status"] ~ /^ok/ {
    print $col["file"] "\t" $col["pixel_bytes"] "\t" $col["bits_allocated"]
  }' "$CORPUS/MANIFEST.tsv" >"$TMP/files"

# best TOOL FILE: the best wall time of RUNS runs of `TOOL FILE out`, in nanoseconds.
best() {
  local tool=$1 in=$2 min=0 t0 t1 d
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    "$tool" "$in" "$TMP/out.dcm" >/dev/null 2>&1 || { echo "rle.sh: $tool failed on $in" >&2; exit 1; }
    t1=$(date +%s%N)
    d=$((t1 - t0))
    if [ "$min" -eq 0 ] || [ "$d" -lt "$min" ]; then min=$d; fi
  done
  echo "$min"
}

echo "Go: go test -bench 'BenchmarkDecode(File)?' -benchtime $BENCHTIME ./codec/rle/" >&2
(cd "$ROOT" && go test -run '^$' -bench 'BenchmarkDecode(File)?' -benchtime "$BENCHTIME" ./codec/rle/) >"$TMP/go.txt"
# file <TAB> MB/s from lines like "BenchmarkDecode/NAME.dcm-2   N   T ns/op   X MB/s ...".
awk '/^BenchmarkDecode\// {
  name = $1; sub(/^BenchmarkDecode\//, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 1; i < NF; i++) if ($(i + 1) == "MB/s") print name "\t" $i
}' "$TMP/go.txt" >"$TMP/go.tsv"

echo "DCMTK: dcmdrle and dcmconv, best of $RUNS runs per file" >&2
printf '%-58s %9s %10s %12s %12s\n' file "pixels MB" "Go MB/s" "dcmdrle MB/s" "dcmdrle net"
tot_bytes=0 tot_drle=0 tot_conv=0
while IFS=$'\t' read -r file bytes bits; do
  gomb=$(awk -F'\t' -v f="$file" '$1 == f { print $2 }' "$TMP/go.tsv")
  if [ "$bits" = 1 ]; then
    printf '%-58s %9.2f %10s %12s %12s\n' "$file" "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" "${gomb:--}" "(refused)" "-"
    continue
  fi
  drle=$(best dcmdrle "$CORPUS/$file")
  conv=$(best dcmconv "$CORPUS/$file")
  tot_bytes=$((tot_bytes + bytes)); tot_drle=$((tot_drle + drle)); tot_conv=$((tot_conv + conv))
  awk -v f="$file" -v b="$bytes" -v g="${gomb:--}" -v d="$drle" -v c="$conv" 'BEGIN {
    net = d - c
    printf "%-58s %9.2f %10s %12.1f %12s\n", f, b / 1e6, g, b / (d / 1e3), (net > 0 ? sprintf("%.1f", b / (net / 1e3)) : "-")
  }'
done <"$TMP/files"
goall=$(awk -F'\t' '$1 == "all" { print $2 }' "$TMP/go.tsv")
awk -v b="$tot_bytes" -v g="$goall" -v d="$tot_drle" -v c="$tot_conv" 'BEGIN {
  net = d - c
  printf "%-58s %9.2f %10s %12.1f %12s\n", "all (Go: every file; DCMTK: all but 1-bit)", b / 1e6, g, b / (d / 1e3), (net > 0 ? sprintf("%.1f", b / (net / 1e3)) : "-")
}'
gofile=$(awk '/^BenchmarkDecodeFile/ { for (i = 1; i < NF; i++) if ($(i + 1) == "MB/s") print $i }' "$TMP/go.txt")
echo "Go, read + parse + decode of every file (BenchmarkDecodeFile): ${gofile:-?} MB/s"
