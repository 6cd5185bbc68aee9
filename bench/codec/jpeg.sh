#!/bin/sh
# Decode throughput of codec/jpeg beside DCMTK's dcmdjpeg, per transfer syntax, on the frames of
# the shared corpus (the rows BenchmarkDecode uses: not malformed, with a reference).
#
# MB/s = native output bytes (the manifest's pixel_bytes) per second. dcmdjpeg's figure includes
# process start, DICOM parsing and writing the output file (to tmpfs when /dev/shm exists), so it
# is an upper bound on DCMTK's cost per file, not a pure codec figure; run with a larger ROUNDS
# to steady it.
#
# Usage: bench/codec/jpeg.sh [ROUNDS]   (from the repository root; needs dcmtk and Go)
set -eu
ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CORPUS=${LIGHTBOX_CORPUS:-$ROOT/../shared/corpus}
TMP=$(mktemp -d "${TMPDIR:-/dev/shm}/jpegbench.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$TMP"' EXIT

command -v dcmdjpeg >/dev/null || { echo "dcmdjpeg (dcmtk) not found" >&2; exit 1; }

echo "== codec/jpeg (Go), go test -bench"
(cd "$ROOT" && go test ./codec/jpeg/ -run '^$' -bench 'BenchmarkDecode' -benchtime "${ROUNDS}x") |
	awk '/^BenchmarkDecode/ { sub(/^BenchmarkDecode\//, "", $1); sub(/-[0-9]+$/, "", $1); printf "%-26s %10s MB/s\n", $1, $(NF-1) }'

echo "== DCMTK dcmdjpeg +px, whole files, $ROUNDS rounds"
for ts in 1.2.840.10008.1.2.4.50 1.2.840.10008.1.2.4.51 1.2.840.10008.1.2.4.55 1.2.840.10008.1.2.4.57 1.2.840.10008.1.2.4.70; do
	awk -F'\t' -v ts="$ts" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$col["transfer_syntax_uid"] == ts && $col["malformed"] == "no" && $col["ref_status"] ~ /^ok/ {
			print $col["file"] "\t" $col["pixel_bytes"]
		}' "$CORPUS/MANIFEST.tsv" >"$TMP/list"
	[ -s "$TMP/list" ] || continue
	bytes=$(awk -F'\t' '{ s += $2 } END { print s }' "$TMP/list")
	start=$(date +%s.%N)
	r=0
	while [ "$r" -lt "$ROUNDS" ]; do
		while IFS="$(printf '\t')" read -r f _; do
			dcmdjpeg -q +px "$CORPUS/$f" "$TMP/out.dcm"
		done <"$TMP/list"
		r=$((r + 1))
	done
	end=$(date +%s.%N)
	awk -v ts="$ts" -v b="$bytes" -v r="$ROUNDS" -v s="$start" -v e="$end" \
		'BEGIN { printf "%-26s %10.2f MB/s  (%d files, %.1f MB native)\n", ts, b * r / (e - s) / 1e6, 0, b / 1e6 }' |
		sed "s/(0 files/($(wc -l <"$TMP/list") files/"
done
