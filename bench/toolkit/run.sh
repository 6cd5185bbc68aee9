#!/usr/bin/env bash
# run.sh: side-by-side benchmarks of Lightbox's DICOM toolkit, github.com/suyashkumar/dicom and
# DCMTK's dcmdump on the same corpus files, in one run. Prints one Markdown table (file,
# operation, lightbox, suyashkumar, dcmdump); docs/performance.md explains how to read it.
#
# Environment:
#   COUNT=5           runs of each Go benchmark (the table shows medians)
#   BENCHTIME=1s      -benchtime of each Go benchmark run
#   DCMDUMP_RUNS=200  runs of each dcmdump command
#   LIGHTBOX_CORPUS   the corpus directory (default: ../shared/corpus beside the repository)
#   OUT               where raw results go (default: a new directory under $TMPDIR or /tmp)
#   BENCHSTAT         benchstat to `go run` (default golang.org/x/perf/cmd/benchstat@latest);
#                     BENCHSTAT=none skips it
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}
RUNS=${DCMDUMP_RUNS:-200}
BENCHSTAT=${BENCHSTAT:-golang.org/x/perf/cmd/benchstat@latest}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/lightbox-toolkit-bench.XXXXXX")}
mkdir -p "$OUT"

corpus=${LIGHTBOX_CORPUS:-../../../shared/corpus}
if [ ! -f "$corpus/MANIFEST.tsv" ]; then
	echo "run.sh: shared corpus not found at $corpus (set LIGHTBOX_CORPUS): nothing to run"
	exit 0
fi
LIGHTBOX_CORPUS=$(cd "$corpus" && pwd)
export LIGHTBOX_CORPUS

echo "== machine"
{
	echo "cpu:     $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores"
	echo "go:      $(go version)"
	if command -v dcmdump >/dev/null; then
		echo "dcmdump: $(dcmdump --version 2>&1 | head -1)"
	fi
	echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
} | tee "$OUT/machine.txt"
echo "raw results: $OUT"

echo
echo "== Go benchmarks (-count $COUNT -benchtime $BENCHTIME -benchmem)"
go test -run '^$' -bench . -benchmem -count "$COUNT" -benchtime "$BENCHTIME" | tee "$OUT/go.txt"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the Go benchmarks" | tee -a "$OUT/machine.txt"

if [ "$BENCHSTAT" != none ]; then
	echo
	echo "== benchstat"
	if go run "$BENCHSTAT" "$OUT/go.txt" >"$OUT/benchstat.txt" 2>"$OUT/benchstat.err"; then
		cat "$OUT/benchstat.txt"
	else
		echo "benchstat unavailable ($(head -1 "$OUT/benchstat.err")); the table below uses medians"
	fi
fi

# Medians of the Go benchmarks: op lib file ns/op MB/s allocs/op B/op, tab-separated.
awk '
function median(key,   n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = val[key, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
	if (n == 0) return ""
	if (n % 2) return a[(n+1)/2]
	return (a[n/2] + a[n/2+1]) / 2
}
/^Benchmark.*ns\/op/ {
	name = $1
	sub(/-[0-9]+$/, "", name)
	sub(/^Benchmark/, "", name)
	if (!(name in seen)) { seen[name] = 1; order[++names] = name }
	for (i = 3; i < NF; i++) {
		u = $(i+1)
		if (u == "ns/op" || u == "MB/s" || u == "allocs/op" || u == "B/op") {
			k = name SUBSEP u
			val[k, ++cnt[k]] = $i
		}
	}
}
END {
	for (n = 1; n <= names; n++) {
		name = order[n]
		split(name, p, "/")
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p[1], p[2], p[3], median(name SUBSEP "ns/op"), median(name SUBSEP "MB/s"), median(name SUBSEP "allocs/op"), median(name SUBSEP "B/op")
	}
}' "$OUT/go.txt" >"$OUT/go-median.tsv"

# The files come from the Go benchmarks' names, so the list lives in toolkit_test.go alone.
mapfile -t files < <(awk -F'\t' '$1 == "Header" && $2 == "lightbox" { print $3 }' "$OUT/go-median.tsv")

# dcmdump: whole-process times, each file measured next to a tiny file so that start-up (process
# creation, dynamic linking, loading the data dictionary) can be subtracted. Times in seconds:
# file tiny +M full, tab-separated (medians).
: >"$OUT/dcmdump.tsv"
if command -v dcmdump >/dev/null; then
	tiny="$OUT/tiny.dcm"
	printf '(0008,0016) UI =SecondaryCaptureImageStorage\n(0008,0018) UI [1.2.3.4]\n(0010,0020) LO [TINY]\n' >"$OUT/tiny.txt"
	dump2dcm +te "$OUT/tiny.txt" "$tiny"
	echo
	if command -v hyperfine >/dev/null; then
		echo "== dcmdump (hyperfine, $RUNS runs each)"
	else
		echo "== dcmdump (no hyperfine: a loop of $RUNS runs each, mean per run)"
	fi
	for f in "${files[@]}"; do
		path="$LIGHTBOX_CORPUS/$f"
		if command -v hyperfine >/dev/null; then
			hyperfine -N --warmup 20 --runs "$RUNS" --style basic --export-csv "$OUT/dcmdump-$f.csv" \
				"dcmdump $tiny" "dcmdump +M $path" "dcmdump $path" >"$OUT/dcmdump-$f.txt" 2>&1
			# Columns: command,mean,stddev,median,user,system,min,max; rows in command order.
			awk -F, -v f="$f" 'NR > 1 { m[NR-1] = $4 } END { printf "%s\t%s\t%s\t%s\n", f, m[1], m[2], m[3] }' \
				"$OUT/dcmdump-$f.csv" >>"$OUT/dcmdump.tsv"
		else
			row="$f"
			for args in "$tiny" "+M $path" "$path"; do
				# shellcheck disable=SC2086 # args holds an option and a path without spaces
				start=$(date +%s%N)
				for ((i = 0; i < RUNS; i++)); do dcmdump $args >/dev/null; done
				end=$(date +%s%N)
				row="$row	$(awk -v d=$((end - start)) -v n="$RUNS" 'BEGIN { printf "%.9f", d / n / 1e9 }')"
			done
			echo "$row" >>"$OUT/dcmdump.tsv"
		fi
		awk -F'\t' -v f="$f" '$1 == f { printf "%-36s start-up %.2f ms, +M %.2f ms, full %.2f ms\n", f, $2*1e3, $3*1e3, $4*1e3 }' "$OUT/dcmdump.tsv"
	done
else
	echo "dcmdump not installed (Debian package dcmtk): its column stays empty"
fi

# One table. Go cells: median time per operation, throughput over the file's size, allocations.
# dcmdump cells: median whole-process time minus the tiny file's (the parse and dump of this
# file), with the whole-process time in brackets.
echo
echo "== summary (medians)"
awk -F'\t' '
function t(ns) {
	if (ns == "") return ""
	if (ns < 1e3) return sprintf("%.0f ns", ns)
	if (ns < 1e6) return sprintf("%.1f µs", ns / 1e3)
	if (ns < 1e9) return sprintf("%.2f ms", ns / 1e6)
	return sprintf("%.2f s", ns / 1e9)
}
function rate(mbs) {
	if (mbs == "") return ""
	if (mbs >= 1000) return sprintf("%.1f GB/s", mbs / 1000)
	return sprintf("%.0f MB/s", mbs)
}
function cell(op, lib, f,   k) {
	k = op SUBSEP lib SUBSEP f
	if (!(k in ns)) return (lib == "suyashkumar" && op == "Stream") ? "(as full)" : "fails"
	return t(ns[k]) ", " rate(mbs[k]) ", " allocs[k] " allocs"
}
function dd(f, col,   d) {
	if (!((f, col) in dump)) return "—"
	d = (dump[f, col] - dump[f, 2]) * 1e9
	return sprintf("%s%s (%s)", d < 0 ? "−" : "+", t(d < 0 ? -d : d), t(dump[f, col] * 1e9))
}
FILENAME == ARGV[1] {
	k = $1 SUBSEP $2 SUBSEP $3
	ns[k] = $4; mbs[k] = $5; allocs[k] = $6
	if ($1 == "Header" && $2 == "lightbox") files[++nf] = $3
	next
}
{ for (i = 2; i <= 4; i++) dump[$1, i] = $i }
END {
	print "| file | operation | lightbox | suyashkumar | dcmdump |"
	print "| --- | --- | --- | --- | --- |"
	for (i = 1; i <= nf; i++) {
		f = files[i]
		printf "| %s | header | %s | %s | %s |\n", f, cell("Header", "lightbox", f), cell("Header", "suyashkumar", f), dd(f, 3)
		printf "| %s | full | %s | %s | %s |\n", f, cell("Full", "lightbox", f), cell("Full", "suyashkumar", f), dd(f, 4)
		printf "| %s | stream | %s | %s | — |\n", f, cell("Stream", "lightbox", f), cell("Stream", "suyashkumar", f)
		printf "| %s | write | %s | %s | — |\n", f, cell("Write", "lightbox", f), cell("Write", "suyashkumar", f)
	}
	n = 0; s = 0
	for (i = 1; i <= nf; i++) if ((files[i], 2) in dump) { a[++n] = dump[files[i], 2] }
	if (n) {
		for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j+1] = a[j]; a[j+1] = x }
		printf "| (358-byte file) | dcmdump start-up | — | — | %s (median of %d measurements, %s to %s) |\n", t(a[int((n+1)/2)] * 1e9), n, t(a[1] * 1e9), t(a[n] * 1e9)
	}
}' "$OUT/go-median.tsv" "$OUT/dcmdump.tsv" | tee "$OUT/table.md"
echo
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the end" | tee -a "$OUT/machine.txt"
