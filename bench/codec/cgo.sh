#!/usr/bin/env bash
# Decoding speed of the cgo codecs (codec/openjpeg, codec/openjph, codec/charls; Go benchmarks
# BenchmarkDecode / BenchmarkEncode) beside the reference command-line tools on the same
# codestreams: opj_decompress (OpenJPEG), ojph_expand (OpenJPH), dcmdjpls (DCMTK, CharLS-based
# in its own copy), and ojph_compress for HTJ2K lossless encoding of a 512×512 16-bit CT frame.
#
#   bench/codec/cgo.sh              # ~2 minutes on a quiet 2-core machine
#   RUNS=20 BENCHTIME=2s bench/codec/cgo.sh
#
# MB/s are of native output bytes (the frame size). The Go figures time the decoder alone on a
# frame in memory. A tool run is a whole process (start, read, decode, write); its time is the
# best of RUNS runs and includes that overhead, so the tool figures are lower bounds of the
# libraries' speed. Tunables: CORPUS (../shared/corpus beside the repository), RUNS (10),
# BENCHTIME (1s).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
RUNS=${RUNS:-10}
BENCHTIME=${BENCHTIME:-1s}

for tool in go awk opj_decompress ojph_expand ojph_compress dcmdjpls; do
  command -v "$tool" >/dev/null || { echo "cgo.sh: $tool not found (install libopenjp2-tools, openjph-tools, dcmtk)" >&2; exit 1; }
done
[ -f "$CORPUS/MANIFEST.tsv" ] || { echo "cgo.sh: no corpus at $CORPUS (set CORPUS)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$ROOT"

# best CMD...: the best wall time of RUNS runs, in nanoseconds.
best() {
  local b=0 t0 t1 d
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    d=$((t1 - t0))
    if [ "$b" -eq 0 ] || [ "$d" -lt "$b" ]; then b=$d; fi
  done
  echo "$b"
}

mbs() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%8.1f MB/s  %7.2f ms", n / (ns / 1e9) / 1e6, ns / 1e6 }'; }

echo "== reference tools (best of $RUNS process runs, frame 0)"
# label <TAB> corpus file <TAB> tool
while IFS=$'\t' read -r label file tool; do
  ext=j2k
  case "$tool" in ojph_expand) ext=j2c ;; dcmdjpls) ext=dcm ;; esac
  in="$TMP/$label.$ext"
  if [ "$tool" = dcmdjpls ]; then
    size=$(go run bench/codec/cgo_extract.go codestream "$CORPUS/$file" "$TMP/unused")
    cp "$CORPUS/$file" "$in"
    ns=$(best dcmdjpls "$in" "$TMP/out.dcm")
  else
    size=$(go run bench/codec/cgo_extract.go codestream "$CORPUS/$file" "$in")
    out="$TMP/out.raw"
    [ "$tool" = opj_decompress ] && ns=$(best opj_decompress -i "$in" -o "$TMP/out.rawl")
    [ "$tool" = ojph_expand ] && ns=$(best ojph_expand -i "$in" -o "$TMP/out.pgm")
  fi
  printf '%-26s %-15s %s\n' "$label" "$tool" "$(mbs "$size" "$ns")"
done <<'LIST'
90_CT_512x512x16	cornerstone3D__CT1_J2KR.dcm	opj_decompress
90_Gray_1416x1420x16	pylibjpeg-data__JPEG2KLossless_1s_1f_u_16_16.dcm	opj_decompress
91_MR_1024x1024x16	pydicom-data__MR2_J2KI.dcm	opj_decompress
91_US_640x480_YBR_ICT	pydicom-data__US1_J2KI.dcm	opj_decompress
201_RGB_640x480x8	pydicom-data__HTJ2KLossless_08_RGB.dcm	opj_decompress
202_CT_512x512x16	DICOMHTJ2K__CT1_JPH.dcm	opj_decompress
202_XA_1024x1024x16	DICOMHTJ2K__XA1_JPH.dcm	opj_decompress
202_CT_512x512x16	DICOMHTJ2K__CT1_JPH.dcm	ojph_expand
202_XA_1024x1024x16	DICOMHTJ2K__XA1_JPH.dcm	ojph_expand
80_CT_512x512x16	dicomParser__CT1_UNC.fragmented_bot_jpeg_ls.80.dcm	dcmdjpls
80_RGB_640x400x8	cornerstone3D__TestPattern_JPEG-LS-Lossless.dcm	dcmdjpls
81_CT_512x512x16	orthanc-tests__1.2.840.10008.1.2.4.81.dcm	dcmdjpls
LIST
# The HTJ2K rows are grey; ojph_expand writes .pgm for them.

echo "== ojph_compress: HTJ2K lossless RPCL of a 512×512 16-bit CT frame"
go run bench/codec/cgo_extract.go pgm "$CORPUS/DICOMHTJ2K__CT1_JPH.dcm" "$TMP/ct.pgm" >/dev/null
ns=$(best ojph_compress -i "$TMP/ct.pgm" -o "$TMP/ct.j2c" -reversible true -prog_order RPCL -num_decomps 5)
awk -v ns="$ns" 'BEGIN { printf "ojph_compress              %7.1f frames/s (%.2f ms a process)\n", 1e9 / ns, ns / 1e6 }'

echo "== Lightbox (go test -bench, decoder alone)"
go test -p 1 ./codec/openjpeg/ ./codec/openjph/ ./codec/charls/ -run '^$' -bench . -benchtime "$BENCHTIME" |
  grep "^Benchmark"
