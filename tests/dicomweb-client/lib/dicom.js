// Just enough of DICOM Part 10 (PS3.10 7.1) and the data set encoding (PS3.5 7) to find, in a
// corpus file, its File Meta, its transfer syntax, where its data set starts, and the top-level
// elements with their value's place: an oracle of our own, independent of the server.

const td = new TextDecoder('latin1');

export const ImplicitLittle = '1.2.840.10008.1.2';
export const ExplicitLittle = '1.2.840.10008.1.2.1';
export const DeflatedLittle = '1.2.840.10008.1.2.1.99';
export const ExplicitBig = '1.2.840.10008.1.2.2';

// VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 7.1.2).
const longVRs = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;

export const tagOf = (group, element) => ((group << 16) | element) >>> 0;
export const hex8 = (t) => t.toString(16).toUpperCase().padStart(8, '0');

export const Tags = {
  PixelData: tagOf(0x7fe0, 0x0010),
  NumberOfFrames: tagOf(0x0028, 0x0008),
  Rows: tagOf(0x0028, 0x0010),
  Columns: tagOf(0x0028, 0x0011),
  BitsAllocated: tagOf(0x0028, 0x0100),
  SamplesPerPixel: tagOf(0x0028, 0x0002),
  SOPInstanceUID: tagOf(0x0008, 0x0018),
  StudyInstanceUID: tagOf(0x0020, 0x000d),
  SeriesInstanceUID: tagOf(0x0020, 0x000e),
  PatientID: tagOf(0x0010, 0x0020),
  EncapsulatedDocument: tagOf(0x0042, 0x0011),
  TransferSyntaxUID: tagOf(0x0002, 0x0010),
  ItemTag: tagOf(0xfffe, 0xe000),
  ItemDelim: tagOf(0xfffe, 0xe00d),
  SeqDelim: tagOf(0xfffe, 0xe0dd),
};

class Cursor {
  constructor(buf, pos, little, explicit) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.little = little;
    this.explicit = explicit;
  }
  u16() {
    const v = this.view.getUint16(this.pos, this.little);
    this.pos += 2;
    return v;
  }
  u32() {
    const v = this.view.getUint32(this.pos, this.little);
    this.pos += 4;
    return v;
  }
  // header reads an element header: tag, VR ('' when implicit or for items and delimiters) and
  // value length.
  header() {
    const tag = tagOf(this.u16(), this.u16());
    if (tag >>> 16 === 0xfffe) return { tag, vr: '', length: this.u32() };
    if (!this.explicit) return { tag, vr: '', length: this.u32() };
    const vr = td.decode(this.buf.subarray(this.pos, this.pos + 2));
    this.pos += 2;
    if (longVRs.has(vr)) {
      this.pos += 2;
      return { tag, vr, length: this.u32() };
    }
    return { tag, vr, length: this.u16() };
  }
}

// skipUndefined skips the items of a sequence of undefined length (its content encoded as cur's,
// or implicit VR little endian for VR UN, PS3.5 6.2.2) up to its Sequence Delimitation Item.
function skipSequence(cur, length) {
  const end = length === UNDEFINED ? Infinity : cur.pos + length;
  while (cur.pos < end) {
    const { tag, length: n } = cur.header();
    if (tag === Tags.SeqDelim) return;
    if (tag !== Tags.ItemTag) throw new Error(`unexpected ${hex8(tag)} in a sequence at ${cur.pos}`);
    if (n !== UNDEFINED) {
      cur.pos += n;
      continue;
    }
    walk(cur, Infinity, null);
  }
}

// walk reads elements from cur up to end or an Item Delimitation Item; with out, it records the
// elements met (this level only).
function walk(cur, end, out) {
  while (cur.pos < end && cur.pos < cur.buf.length) {
    const start = cur.pos;
    const { tag, vr, length } = cur.header();
    if (tag === Tags.ItemDelim) return;
    const el = { tag, vr, start, offset: cur.pos, length };
    if (length === UNDEFINED) {
      if (tag === Tags.PixelData) {
        el.fragments = [];
        for (;;) {
          const it = cur.header();
          if (it.tag === Tags.SeqDelim) break;
          el.fragments.push({ offset: cur.pos, length: it.length });
          cur.pos += it.length;
        }
      } else if (vr === 'UN') {
        const inner = new Cursor(cur.buf, cur.pos, true, false);
        skipSequence(inner, UNDEFINED);
        cur.pos = inner.pos;
      } else {
        skipSequence(cur, UNDEFINED);
      }
      el.end = cur.pos;
    } else {
      cur.pos += length;
      el.end = cur.pos;
    }
    if (out) out.set(tag, el);
  }
}

// parsePart10 reads a Part 10 file: its File Meta (preamble, DICM, group 0002 in explicit VR
// little endian), its transfer syntax and the offset of its data set; unless the data set is
// deflated, also its top-level elements.
export function parsePart10(bytes) {
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (td.decode(buf.subarray(128, 132)) !== 'DICM') throw new Error('not a Part 10 file (no DICM at 128)');
  const meta = new Map();
  const cur = new Cursor(buf, 132, true, true);
  while (cur.pos + 4 <= buf.length && cur.view.getUint16(cur.pos, true) === 0x0002) {
    const { tag, length } = cur.header();
    meta.set(tag, buf.subarray(cur.pos, cur.pos + length));
    cur.pos += length;
  }
  const datasetOffset = cur.pos;
  const ts = uidString(meta.get(Tags.TransferSyntaxUID));
  const file = { bytes: buf, meta, ts, datasetOffset, dataset: buf.subarray(datasetOffset), elements: null };
  if (ts === DeflatedLittle) return file;
  const little = ts !== ExplicitBig;
  const explicit = ts !== ImplicitLittle;
  file.elements = new Map();
  walk(new Cursor(buf, datasetOffset, little, explicit), buf.length, file.elements);
  file.little = little;
  return file;
}

export function uidString(b) {
  return b ? td.decode(b).replace(/[\0 ]+$/, '') : '';
}

// value returns the bytes of a top-level element's value.
export function value(file, tag) {
  const el = file.elements?.get(tag);
  return el && el.length !== UNDEFINED ? file.bytes.subarray(el.offset, el.offset + el.length) : null;
}

export function stringValue(file, tag) {
  const v = value(file, tag);
  return v ? td.decode(v).replace(/[\0 ]+$/, '').trim() : '';
}

export function uint16Value(file, tag) {
  const v = value(file, tag);
  return v ? new DataView(v.buffer, v.byteOffset, 2).getUint16(0, file.little) : 0;
}

// frames returns the bytes of each frame as stored: for native pixel data, consecutive runs of
// rows × columns × samples × bits allocated bits (PS3.5 8.1.1; byte-aligned frames only), swapped
// to little endian when the file is big endian; for encapsulated pixel data with one fragment per
// frame (and a Basic Offset Table item first), the fragments.
export function frames(file) {
  const pd = file.elements.get(Tags.PixelData);
  if (!pd) return [];
  const n = Number(stringValue(file, Tags.NumberOfFrames) || '1');
  if (pd.fragments) {
    const frags = pd.fragments.slice(1).map((f) => file.bytes.subarray(f.offset, f.offset + f.length));
    if (frags.length !== n) throw new Error(`${frags.length} fragments for ${n} frames: not one fragment per frame`);
    return frags;
  }
  const rows = uint16Value(file, Tags.Rows);
  const cols = uint16Value(file, Tags.Columns);
  const spp = uint16Value(file, Tags.SamplesPerPixel) || 1;
  const bits = uint16Value(file, Tags.BitsAllocated);
  const frameBits = rows * cols * spp * bits;
  if (frameBits % 8 !== 0) throw new Error('frames not byte-aligned');
  const size = frameBits / 8;
  const out = [];
  for (let i = 0; i < n; i++) {
    let f = file.bytes.slice(pd.offset + i * size, pd.offset + (i + 1) * size);
    if (!file.little && bits > 8) f = swap(f, bits / 8);
    out.push(f);
  }
  return out;
}

export function swap(b, width) {
  const out = new Uint8Array(b.length);
  for (let i = 0; i + width <= b.length; i += width) {
    for (let k = 0; k < width; k++) out[i + k] = b[i + width - 1 - k];
  }
  return out;
}

// concat joins byte arrays.
export function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
