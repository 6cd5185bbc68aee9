#!/usr/bin/env python3
"""Side-by-side table of the archive targets from bench result files (the shared harness's TSV
format: system run metric value unit n note), then each target against Lightbox's median.

    python3 bench/archive/targets.py $WORK/results/*.tsv
"""
import re
import statistics
import sys

ROWS = [
    ("meta.load.start", "", "load average at start"),
    ("ingest.storescu_serial.instances_per_s", "inst/s", "C-STORE 525 KB, 1 association"),
    ("ingest.storescu_serial.mb_per_s", "MB/s", "C-STORE 525 KB, 1 association"),
    ("ingest.storescu_parallel4.instances_per_s", "inst/s", "C-STORE 525 KB, 4 associations"),
    ("x.parallel_over_serial", "x", "4 associations / 1"),
    ("sys.ingest_serial.server_cpu", "cpu-s", "server CPU, 5k serial"),
    ("sys.ingest_parallel.server_cpu", "cpu-s", "server CPU, 5k parallel"),
    ("sys.ingest_serial.server_disk_write", "MB", "server disk writes, 5k serial (2.6 GB of DICOM)"),
    ("sys.ingest_serial.machine_busy", "%", "whole machine busy, serial ingest"),
    ("ingest.storescu_parallel4_64x64.instances_per_s", "inst/s", "C-STORE 64x64, 4 storescu"),
    ("sys.ingest_scale.server_cpu", "cpu-s", "server CPU, 40k small"),
    ("sys.ingest_scale.server_disk_write", "MB", "server disk writes, 40k small (378 MB of DICOM)"),
    ("ingest.import_64x64.instances_per_s", "inst/s", "lightbox import 64x64"),
    ("ingest.import_big.instances_per_s", "inst/s", "lightbox import main+scale+big"),
    ("sys.ingest_main.server_rss_peak", "MiB", "peak RSS during 10k ingest (100 ms samples)"),
    ("sys.ingest_scale.server_rss_peak", "MiB", "peak RSS during 40k ingest"),
    ("sys.ingest_parallel.server_rss", "MiB", "RSS at end of parallel ingest (harness)"),
    ("sys.ingest_scale.server_rss", "MiB", "RSS at end of 40k ingest (harness)"),
    ("sys.server_vmhwm", "MiB", "VmHWM over the whole run"),
    ("sys.import_big.rss_peak", "MiB", "lightbox import peak RSS (big)"),
    ("dimse.cecho.p50", "ms", "echoscu process"),
    ("query.cfind.patient_id.one_assoc_mean", "ms", "C-FIND PatientID, 1 assoc, 10k"),
    ("query.cfind.patient_id@50k.one_assoc_mean", "ms", "C-FIND PatientID, 1 assoc, 50k"),
    ("verify.big_instances", "inst", "instances in the big archive"),
    ("query.cfind.patient_id@50k.p50", "ms", "findscu process per query, 50k"),
    ("query.cfind.patient_name_wild@50k.one_assoc_mean", "ms", "C-FIND FAMILY*, 50k"),
    ("query.cfind.study_date_30d@50k.one_assoc_mean", "ms", "C-FIND date range, 50k"),
    ("query.cfind.modality@50k.one_assoc_mean", "ms", "C-FIND ModalitiesInStudy, 50k"),
    ("@BIG", "", ""),
    ("retrieve.cget_study.p50", "ms", "C-GET 26 MB study"),
    ("retrieve.cmove_study.p50", "ms", "C-MOVE 26 MB study"),
    ("retrieve.cmove_study.p95", "ms", "C-MOVE 26 MB study"),
    ("size.index@50k", "MiB", "index at 50k"),
    ("size.index@BIG", "MiB", "index, big archive"),
]


def load(paths):
    cols, vals = [], {}
    for p in paths:
        with open(p) as f:
            for line in f:
                a = line.rstrip("\n").split("\t")
                if len(a) < 5:
                    continue
                col = (a[0], a[1])
                if col not in cols:
                    cols.append(col)
                vals[(col, a[2])] = a[3]
    return cols, vals


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def main():
    cols, vals = load(sys.argv[1:])
    # the big archive's label (@1M, @250k, ...): whatever query label is neither 10k nor 50k
    labels = sorted({re.search(r"@(\w+)", m).group(1) for (_, m) in vals if "@" in m} - {"50k"})
    big = labels[0] if labels else "1M"
    rows0 = []
    for m, unit, desc in ROWS:
        if m == "@BIG":
            for p, d in (("patient_id", "PatientID"), ("patient_name_wild", "FAMILY*"), ("study_date_30d", "date range")):
                rows0.append((f"query.cfind.{p}@{big}.one_assoc_mean", "ms", f"C-FIND {d}, 1 assoc, {big}"))
            rows0.append((f"query.cfind.patient_id@{big}.p50", "ms", f"findscu process per query, {big}"))
        else:
            rows0.append((m.replace("@BIG", "@" + big), unit, desc.replace("big archive", big)))
    for c in cols:
        s = num(vals.get((c, "ingest.storescu_serial.instances_per_s")))
        p = num(vals.get((c, "ingest.storescu_parallel4.instances_per_s")))
        if s and p:
            vals[(c, "x.parallel_over_serial")] = f"{p / s:.2f}"
    rows = [r for r in rows0 if any((c, r[0]) in vals for c in cols)]
    used = [c for c in cols if any((c, r[0]) in vals for r in rows if not r[0].startswith("meta."))]
    print("| metric | unit | " + " | ".join(f"{s} {r}" for s, r in used) + " |")
    print("|---|---|" + "---:|" * len(used))
    for m, unit, desc in rows:
        print(f"| {m} ({desc}) | {unit} | " + " | ".join(vals.get((c, m), "") for c in used) + " |")

    def med(system_prefix, m):
        xs = [num(vals.get((c, m))) for c in used if c[0].startswith(system_prefix)]
        xs = [x for x in xs if x is not None]
        return statistics.median(xs) if xs else None

    lb = lambda m: med("lightbox", m)
    oc = lambda m: med("orthanc", m)
    print("\nTargets (medians of the runs above):")

    def verdict(name, value, ok, detail):
        if value is None:
            print(f"  {name}: not measured")
        else:
            print(f"  {name}: {'MET' if ok else 'NOT MET'} ({detail})")

    s, o = lb("ingest.storescu_serial.instances_per_s"), oc("ingest.storescu_serial.instances_per_s")
    verdict("C-STORE 1 assoc >= 4x Orthanc", s and o, s and o and s >= 4 * o,
            f"{s} vs {o} inst/s = {s / o:.2f}x" if s and o else "")
    x = lb("x.parallel_over_serial")
    verdict("4 assoc >= 1.5x 1 assoc", x, x and x >= 1.5, f"{x}x")
    v = lb("ingest.import_64x64.instances_per_s")
    verdict("import 64x64 >= 3000/s", v, v and v >= 3000, f"{v} inst/s")
    v = lb("ingest.storescu_parallel4_64x64.instances_per_s")
    verdict("storescu 64x64 parallel >= 1500/s", v, v and v >= 1500,
            f"{v} inst/s; Orthanc {oc('ingest.storescu_parallel4_64x64.instances_per_s')}")
    v = lb("query.cfind.patient_id@50k.one_assoc_mean")
    verdict("C-FIND PatientID @50k <= 2 ms", v, v and v <= 2,
            f"{v} ms; Orthanc {oc('query.cfind.patient_id@50k.one_assoc_mean')}")
    v = lb(f"query.cfind.patient_id@{big}.one_assoc_mean")
    verdict(f"C-FIND PatientID @1M <= 5 ms (measured @{big})", v, v and v <= 5, f"{v} ms")
    v = lb("retrieve.cmove_study.p50")
    verdict("C-MOVE 26 MB study <= 150 ms", v, v and v <= 150, f"p50 {v} ms; Orthanc {oc('retrieve.cmove_study.p50')}")
    peaks = [num(vals.get((c, m))) for c in used if c[0].startswith("lightbox")
             for m in ("sys.ingest_main.server_rss_peak", "sys.ingest_scale.server_rss_peak")]
    peaks = [p for p in peaks if p is not None]
    v = max(peaks) if peaks else None
    verdict("server RSS <= 150 MiB while ingesting", v, v is not None and v <= 150, f"max of peaks {v} MiB")


if __name__ == "__main__":
    main()
