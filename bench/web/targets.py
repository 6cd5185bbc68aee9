#!/usr/bin/env python3
"""Side-by-side table of the DICOMweb metrics from bench result files (the shared harness's TSV
format: system run metric value unit n note), then each target against Lightbox's median and
Orthanc's median of the same results.

    python3 bench/web/targets.py $WORK/results/*.tsv
"""
import statistics
import sys

ROWS = [
    ("meta.load.start", "", "load average at start"),
    ("meta.load.after_ingest", "", "load average before the queries"),
    ("meta.load.after_query", "", "load average before the retrieves"),
    ("meta.load.before_query@50k", "", "load average before the 50k queries"),
    ("meta.load.end", "", "load average at the end"),
    ("ingest.stow_rs.instances_per_s", "inst/s", "STOW-RS 525 KB, one POST per series (25)"),
    ("ingest.stow_rs.mb_per_s", "MB/s", "STOW-RS"),
    ("sys.ingest_stow.server_cpu", "cpu-s", "server CPU, 400 STOW-RS instances"),
    ("ingest.storescu_serial.instances_per_s", "inst/s", "C-STORE 525 KB, 1 association (reference)"),
    ("query.qido.patient_id.p50", "ms", "QIDO PatientID, 10k"),
    ("query.qido.patient_name_wild.p50", "ms", "QIDO FAMILY*, 10k"),
    ("query.qido.study_date_30d.p50", "ms", "QIDO 30-day StudyDate, 10k"),
    ("query.qido.modality.p50", "ms", "QIDO ModalitiesInStudy, 10k (~104 studies)"),
    ("query.qido.patient_id@50k.p50", "ms", "QIDO PatientID, 50k"),
    ("query.qido.patient_id@50k.p95", "ms", "QIDO PatientID, 50k"),
    ("query.qido.patient_name_wild@50k.p50", "ms", "QIDO FAMILY*, 50k (~33 studies)"),
    ("query.qido.study_date_30d@50k.p50", "ms", "QIDO 30-day StudyDate, 50k (~19 studies)"),
    ("query.qido.modality@50k.p50", "ms", "QIDO ModalitiesInStudy, 50k (~1,100 studies)"),
    ("query.qido.modality@50k.p95", "ms", "QIDO ModalitiesInStudy, 50k"),
    ("retrieve.wado_study.p50", "s", "WADO-RS whole study (26 MB)"),
    ("retrieve.wado_study.mb_per_s", "MB/s", "WADO-RS whole study"),
    ("retrieve.wado_study_metadata.p50", "ms", "WADO-RS study metadata (50 instances)"),
    ("retrieve.wado_study_metadata.p95", "ms", "WADO-RS study metadata"),
    ("retrieve.wado_frame.p50", "ms", "WADO-RS one frame (512 KB)"),
    ("retrieve.wado_frame.p95", "ms", "WADO-RS one frame"),
    ("retrieve.wado_rendered_jpeg.p50", "ms", "WADO-RS rendered JPEG"),
    ("retrieve.cget_study.p50", "ms", "C-GET 26 MB study (reference)"),
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
    rows = [r for r in ROWS if any((c, r[0]) in vals for c in cols)]
    used = [c for c in cols if any((c, r[0]) in vals for r in rows if not r[0].startswith("meta."))]
    print("| metric | unit | " + " | ".join(f"{s} {r}" for s, r in used) + " |")
    print("|---|---|" + "---:|" * len(used))
    for m, unit, desc in rows:
        print(f"| {m} ({desc}) | {unit} | " + " | ".join(vals.get((c, m), "") for c in used) + " |")

    def med(prefix, m):
        xs = [num(vals.get((c, m))) for c in used if c[0].startswith(prefix)]
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

    s, o = lb("ingest.stow_rs.instances_per_s"), oc("ingest.stow_rs.instances_per_s")
    verdict("STOW-RS >= 5x Orthanc", s and o, s and o and s >= 5 * o,
            f"{s:.0f} vs {o:.0f} inst/s = {s / o:.2f}x" if s and o else "")
    v = lb("query.qido.patient_id@50k.p50")
    verdict("QIDO PatientID p50 @50k <= 2 ms", v, v is not None and v <= 2,
            f"{v} ms; Orthanc {oc('query.qido.patient_id@50k.p50')}")
    v = lb("query.qido.modality@50k.p50")
    verdict("QIDO ~1,100 studies <= 50 ms", v, v is not None and v <= 50,
            f"p50 {v} ms; Orthanc {oc('query.qido.modality@50k.p50')}")
    v = lb("retrieve.wado_study_metadata.p50")
    verdict("study metadata (50 instances) <= 5 ms", v, v is not None and v <= 5,
            f"p50 {v} ms; Orthanc {oc('retrieve.wado_study_metadata.p50')}")
    v = lb("retrieve.wado_study.mb_per_s")
    verdict("whole 26 MB study >= 500 MB/s", v, v is not None and v >= 500,
            f"{v} MB/s; Orthanc {oc('retrieve.wado_study.mb_per_s')}")
    v = lb("retrieve.wado_frame.p50")
    verdict("one frame <= 2 ms", v, v is not None and v <= 2,
            f"p50 {v} ms; Orthanc {oc('retrieve.wado_frame.p50')}")


if __name__ == "__main__":
    main()
