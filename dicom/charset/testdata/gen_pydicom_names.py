#!/usr/bin/python3
"""Regenerate pydicom_names.json, the pydicom reference for the charset tests.

For every pydicom__chr*.dcm file of the shared corpus it records each
non-empty character string element (PN, SH, LO, ST, LT, UT, UC), including
those inside sequences: the raw value bytes as stored in the file, the
Specific Character Set values that apply to it (the nearest enclosing Data
Set that has (0008,0005), PS3.5 7.5.3), and the values pydicom decodes.

Usage, from the repository root (needs Debian's python3-pydicom):

    /usr/bin/python3 dicom/charset/testdata/gen_pydicom_names.py \
        ../shared/corpus > dicom/charset/testdata/pydicom_names.json
"""

import glob
import json
import os
import sys

import pydicom
from pydicom.dataelem import RawDataElement

TEXT_VRS = ("PN", "SH", "LO", "ST", "LT", "UT", "UC")
SCS = 0x00080005


def raw_terms(ds):
    """Return the values of (0008,0005) as stored, or None if absent."""
    if SCS not in ds:
        return None
    elem = ds.get_item(SCS)
    value = elem.value if isinstance(elem, RawDataElement) else None
    if value is None:
        v = ds[SCS].value
        return [v] if isinstance(v, str) else list(v)
    return value.rstrip(b" \x00").decode("ascii").split("\\")


def walk(ds, terms, path, out, fname):
    own = raw_terms(ds)
    if own is not None:
        terms = own
    for tag in sorted(ds.keys()):
        raw = ds.get_item(tag)
        vr = raw.VR if isinstance(raw, RawDataElement) else ds[tag].VR
        where = path + ["(%04X,%04X)" % (tag.group, tag.element)]
        if vr == "SQ":
            for n, item in enumerate(ds[tag].value):
                walk(item, terms, where + ["item %d" % n], out, fname)
            continue
        if vr not in TEXT_VRS or not isinstance(raw, RawDataElement):
            continue
        if not raw.value:
            continue
        value = ds[tag].value
        if isinstance(value, (list, pydicom.multival.MultiValue)):
            values = [str(v) for v in value]
        else:
            values = [str(value)]
        out.append({
            "file": fname,
            "path": " ".join(where),
            "vr": vr,
            "terms": terms or [],
            "raw": raw.value.hex(),
            "values": values,
        })


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus"
    cases = []
    for f in sorted(glob.glob(os.path.join(corpus, "pydicom__chr*.dcm"))):
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        walk(ds, None, [], cases, os.path.basename(f))
    json.dump({
        "generator": "dicom/charset/testdata/gen_pydicom_names.py",
        "pydicom": pydicom.__version__,
        "cases": cases,
    }, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
