// Pixel math: native frames into typed arrays of stored values, the grayscale pipeline of PS3.3
// C.11 (Modality LUT by Rescale Slope and Intercept, then a VOI window) as one lookup table from
// stored value to an RGBA word, and colour frames (RGB, YBR_FULL, YBR_FULL_422, PALETTE COLOR)
// into RGBA. The window functions are those of the server's renderer (render/render.go), so the
// canvas shows the same grey levels as /rendered for the same window.

/** The Image Pixel Module of a frame (PS3.3 C.7.6.3). */
export interface PixelFormat {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometric: string;
  planar: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  /** Float Pixel Data or Double Float Pixel Data. */
  float: boolean;
}

export type GrayData = Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

/** A VOI window in modality values (PS3.3 C.11.2.1.2). */
export interface Voi {
  center: number;
  width: number;
  fn: VoiFunction;
}

export function voiFunction(s: string): VoiFunction {
  const f = s.trim().toUpperCase().replace(/-/g, '_');
  return f === 'LINEAR_EXACT' || f === 'SIGMOID' ? f : 'LINEAR';
}

/** Maps a modality value to [0, 1] (PS3.3 C.11.2.1.2.1, C.11.2.1.3.1 and C.11.2.1.3.2). */
export function voiApply(w: Voi, x: number): number {
  const c = w.center;
  const wd = w.width;
  if (w.fn === 'LINEAR_EXACT') {
    if (x <= c - wd / 2) return 0;
    if (x > c + wd / 2) return 1;
    return (x - c) / wd + 0.5;
  }
  if (w.fn === 'SIGMOID') return 1 / (1 + Math.exp((-4 * (x - c)) / wd));
  if (x <= c - 0.5 - (wd - 1) / 2) return 0;
  if (x > c - 0.5 + (wd - 1) / 2) return 1;
  return (x - (c - 0.5)) / (wd - 1) + 0.5;
}

/** The output grey level (0…255) of a modality value. */
export function grey(w: Voi, x: number): number {
  return Math.round(255 * voiApply(w, x));
}

/** The smallest window width a function allows. */
export function minWidth(fn: VoiFunction): number {
  return fn === 'LINEAR' ? 1 : 1e-6;
}

/** Whether decodeGray can read frames of this format. */
export function grayDecodable(f: PixelFormat): boolean {
  if (f.samplesPerPixel !== 1) return false;
  if (f.float) return f.bitsAllocated === 32 || f.bitsAllocated === 64;
  return f.bitsAllocated === 1 || f.bitsAllocated === 8 || f.bitsAllocated === 16 || f.bitsAllocated === 32;
}

/** The bytes of one native frame. */
export function frameBytes(f: PixelFormat): number {
  const n = f.rows * f.columns * (f.photometric === 'YBR_FULL_422' ? 2 : f.samplesPerPixel);
  return f.bitsAllocated === 1 ? Math.ceil(n / 8) : (n * f.bitsAllocated) / 8;
}

function aligned(bytes: Uint8Array, size: number): ArrayBuffer {
  // A copy that starts at offset 0 of its own buffer, so typed arrays of any width can view it.
  const out = new Uint8Array(size);
  out.set(bytes.subarray(0, Math.min(size, bytes.length)));
  return out.buffer;
}

/** The buffer and offset of size bytes of data viewable as elements of width bytes: a view when possible, else a copy. */
function viewable(bytes: Uint8Array, size: number, width: number): { buf: ArrayBufferLike; off: number } {
  if (bytes.byteOffset % width === 0 && bytes.length >= size) return { buf: bytes.buffer, off: bytes.byteOffset };
  return { buf: aligned(bytes, size), off: 0 };
}

/**
 * Reads the stored values of a grayscale native little endian frame: the bits above High Bit are
 * dropped, and signed values are sign-extended from Bits Stored. The values are rewritten in
 * place where they need it, and the result may be a view of bytes: the caller gives up bytes.
 */
export function decodeGray(bytes: Uint8Array, f: PixelFormat): GrayData {
  const n = f.rows * f.columns;
  if (f.float) {
    const w = f.bitsAllocated / 8;
    const { buf, off } = viewable(bytes, n * w, w);
    return w === 8 ? new Float64Array(buf, off, n) : new Float32Array(buf, off, n);
  }
  if (f.bitsAllocated === 1) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (bytes[i >> 3]! >> (i & 7)) & 1;
    return out;
  }
  const bits = f.bitsAllocated;
  const stored = Math.min(f.bitsStored || bits, bits);
  const shift = Math.max(0, f.highBit + 1 - stored);
  const clean = shift === 0 && stored === bits;
  const { buf, off } = viewable(bytes, (n * bits) / 8, bits / 8);
  if (bits === 8 || bits === 16) {
    const u = bits === 8 ? new Uint8Array(buf, off, n) : new Uint16Array(buf, off, n);
    if (f.signed) {
      const s = bits === 8 ? new Int8Array(buf, off, n) : new Int16Array(buf, off, n);
      if (!clean) {
        const k = 32 - stored;
        for (let i = 0; i < n; i++) s[i] = ((u[i]! >> shift) << k) >> k;
      }
      return s;
    }
    if (!clean) {
      const mask = (1 << stored) - 1;
      for (let i = 0; i < n; i++) u[i] = (u[i]! >> shift) & mask;
    }
    return u;
  }
  const raw = new Uint32Array(buf, off, n);
  if (clean) return f.signed ? new Int32Array(buf, off, n) : raw;
  const out = f.signed ? new Int32Array(n) : new Uint32Array(n);
  const mask = stored >= 32 ? 0xffffffff : 2 ** stored - 1;
  const sign = 2 ** (stored - 1);
  const full = 2 ** stored;
  for (let i = 0; i < n; i++) {
    let v = Math.floor(raw[i]! / 2 ** shift) % (mask + 1);
    if (f.signed && v >= sign) v -= full;
    out[i] = v;
  }
  return out;
}

/** The range of the stored values of a frame. */
export function storedRange(d: GrayData): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) return { min: 0, max: 0 };
  return { min, max };
}

/**
 * decodeGray and storedRange in one. When the words of a frame already hold their stored values
 * (nothing above High Bit, signed values already sign-extended: what nearly every modality
 * writes), a single read of the frame finds its range and no word is rewritten; otherwise the
 * words are cleaned by decodeGray and read again. Loading a 500-slice 12-bit CT is then one pass
 * over its pixels instead of two.
 */
export function decodeGrayRange(bytes: Uint8Array, f: PixelFormat): { data: GrayData; min: number; max: number } {
  const bits = f.bitsAllocated;
  const stored = Math.min(f.bitsStored || bits, bits);
  if (!f.float && f.samplesPerPixel === 1 && (bits === 8 || bits === 16) && stored < bits && f.highBit + 1 === stored) {
    const n = f.rows * f.columns;
    const { buf, off } = viewable(bytes, (n * bits) / 8, bits / 8);
    const data = f.signed ? (bits === 8 ? new Int8Array(buf, off, n) : new Int16Array(buf, off, n)) : bits === 8 ? new Uint8Array(buf, off, n) : new Uint16Array(buf, off, n);
    const r = storedRange(data);
    const lo = f.signed ? -(2 ** (stored - 1)) : 0;
    const hi = f.signed ? 2 ** (stored - 1) - 1 : 2 ** stored - 1;
    if (r.min >= lo && r.max <= hi) return { data, ...r };
    const clean = decodeGray(new Uint8Array(buf, off, (n * bits) / 8), f);
    return { data: clean, ...storedRange(clean) };
  }
  const data = decodeGray(bytes, f);
  return { data, ...storedRange(data) };
}

/**
 * The pixels of a grey frame, read (by decodeGrayRange) when first asked for: the slices of a
 * series streaming in are kept as they arrive, and each is read once, when it is first drawn or
 * measured, instead of all of them while the series loads (a pass over 263 MB for a 500-slice CT).
 */
export class GrayFrame {
  readonly kind = 'gray' as const;
  /** The bytes held. */
  readonly byteLength: number;
  private bytes?: Uint8Array;
  private read?: { data: GrayData; min: number; max: number };

  constructor(
    bytes: Uint8Array,
    private readonly format: PixelFormat,
  ) {
    this.bytes = bytes;
    this.byteLength = bytes.byteLength;
  }

  private get values(): { data: GrayData; min: number; max: number } {
    if (!this.read) {
      this.read = decodeGrayRange(this.bytes!, this.format);
      this.bytes = undefined;
    }
    return this.read;
  }

  get data(): GrayData {
    return this.values.data;
  }

  get min(): number {
    return this.values.min;
  }

  get max(): number {
    return this.values.max;
  }
}

/** The range of modality values of stored values from min to max. */
export function modalityRange(r: { min: number; max: number }, slope: number, intercept: number): { min: number; max: number } {
  const a = r.min * slope + intercept;
  const b = r.max * slope + intercept;
  return { min: Math.min(a, b), max: Math.max(a, b) };
}

/** The window that maps the range min…max exactly onto black…white (the server's default). */
export function rangeWindow(min: number, max: number): Voi {
  return { center: (min + max) / 2, width: max > min ? max - min : 1, fn: 'LINEAR_EXACT' };
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** An opaque RGBA pixel as the Uint32 word ImageData holds on this machine. */
export function rgba(r: number, g: number, b: number): number {
  return littleEndian ? ((0xff << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 0xff) >>> 0;
}

const greyWords = new Uint32Array(256);
for (let i = 0; i < 256; i++) greyWords[i] = rgba(i, i, i);

/** A lookup table from stored value (plus offset) to an RGBA word. */
export interface Lut {
  table: Uint32Array;
  offset: number;
}

/** Whether frames of this format are drawn through a lookup table (integers of at most 16 bits). */
export function lutable(f: PixelFormat): boolean {
  return !f.float && (f.bitsAllocated <= 16 || (f.bitsStored || 32) <= 16);
}

/** The stored-value domain of a lookup table for the format. */
function lutDomain(f: PixelFormat): { size: number; offset: number } {
  if (f.bitsAllocated === 1) return { size: 2, offset: 0 };
  const stored = Math.min(f.bitsStored || f.bitsAllocated, f.bitsAllocated, 16);
  const size = 2 ** stored;
  return { size, offset: f.signed ? size / 2 : 0 };
}

/**
 * The table of the grayscale pipeline: stored value → modality value (slope, intercept) → VOI
 * window → grey, inverted for MONOCHROME1 (whose lowest value shows white) and again when the
 * user inverts.
 */
export function buildLut(f: PixelFormat, slope: number, intercept: number, voi: Voi, invert: boolean): Lut {
  const { size, offset } = lutDomain(f);
  const table = new Uint32Array(size);
  const flip = (f.photometric === 'MONOCHROME1') !== invert;
  for (let i = 0; i < size; i++) {
    let g = grey(voi, (i - offset) * slope + intercept);
    if (flip) g = 255 - g;
    table[i] = greyWords[g]!;
  }
  return { table, offset };
}

/** Renders a grayscale frame into out (RGBA words, one per pixel). */
export function renderGray(d: GrayData, f: PixelFormat, slope: number, intercept: number, voi: Voi, invert: boolean, out: Uint32Array, lut?: Lut): void {
  const n = Math.min(d.length, out.length);
  if (lutable(f)) {
    const { table, offset } = lut ?? buildLut(f, slope, intercept, voi, invert);
    const last = table.length - 1;
    for (let i = 0; i < n; i++) {
      const k = d[i]! + offset;
      out[i] = table[k < 0 ? 0 : k > last ? last : k]!;
    }
    return;
  }
  const flip = (f.photometric === 'MONOCHROME1') !== invert;
  for (let i = 0; i < n; i++) {
    let g = grey(voi, d[i]! * slope + intercept);
    if (flip) g = 255 - g;
    out[i] = greyWords[g]!;
  }
}

/** Palette Color Lookup Tables (PS3.3 C.7.6.3.1.5), each entry scaled to 8 bits. */
export interface Palette {
  first: number;
  red: Uint8Array;
  green: Uint8Array;
  blue: Uint8Array;
}

/** Reads one palette table from its descriptor (entries, first mapped value, bits) and data. */
export function paletteTable(desc: number[], data: Uint8Array): { first: number; table: Uint8Array } {
  const entries = desc[0] === 0 ? 65536 : (desc[0] ?? 0);
  const first = desc[1] ?? 0;
  const bits = desc[2] ?? 16;
  const table = new Uint8Array(entries);
  if (bits === 8 && data.length === entries) {
    table.set(data.subarray(0, entries));
    return { first, table };
  }
  const words = new Uint16Array(aligned(data, entries * 2));
  let max = 0;
  for (let i = 0; i < entries; i++) max = Math.max(max, words[i]!);
  const shift = bits === 8 && max < 256 ? 0 : 8;
  for (let i = 0; i < entries; i++) table[i] = words[i]! >> shift;
  return { first, table };
}

/** Reads one segmented palette table (PS3.3 C.7.9.2) from its descriptor and segment data. */
export function segmentedPaletteTable(desc: number[], data: Uint8Array): { first: number; table: Uint8Array } {
  const entries = desc[0] === 0 ? 65536 : (desc[0] ?? 0);
  const words = new Uint16Array(aligned(data, data.length - (data.length % 2)));
  const expanded = expandSegmented(words, entries);
  return paletteTable(desc, new Uint8Array(expanded.buffer));
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Whether decodeColor can read frames of this format. */
export function colorDecodable(f: PixelFormat, palette?: Palette): boolean {
  if (f.photometric === 'PALETTE COLOR') return f.samplesPerPixel === 1 && (f.bitsAllocated === 8 || f.bitsAllocated === 16) && !!palette;
  if (f.samplesPerPixel !== 3) return false;
  if (!['RGB', 'YBR_FULL', 'YBR_FULL_422'].includes(f.photometric)) return false;
  return f.bitsAllocated === 8 || f.bitsAllocated === 16 || f.bitsAllocated === 32;
}

/** Reads a colour native little endian frame into RGBA bytes. */
export function decodeColor(bytes: Uint8Array, f: PixelFormat, palette?: Palette): Uint8ClampedArray {
  const n = f.rows * f.columns;
  const out = new Uint8ClampedArray(n * 4);
  if (f.photometric === 'PALETTE COLOR' && palette) {
    const buf = aligned(bytes, n * (f.bitsAllocated / 8));
    const idx = f.bitsAllocated === 16 ? new Uint16Array(buf) : new Uint8Array(buf);
    const { red, green, blue, first } = palette;
    const last = red.length - 1;
    for (let i = 0; i < n; i++) {
      let k = idx[i]! - first;
      k = k < 0 ? 0 : k > last ? last : k;
      out[4 * i] = red[k]!;
      out[4 * i + 1] = green[Math.min(k, green.length - 1)]!;
      out[4 * i + 2] = blue[Math.min(k, blue.length - 1)]!;
      out[4 * i + 3] = 255;
    }
    return out;
  }
  // Samples as 8 bits.
  let s: Uint8Array;
  if (f.bitsAllocated === 8) {
    s = bytes;
  } else {
    const total = n * 3;
    const buf = aligned(bytes, total * (f.bitsAllocated / 8));
    const wide = f.bitsAllocated === 16 ? new Uint16Array(buf) : new Uint32Array(buf);
    const shift = 2 ** Math.max(0, (f.bitsStored || f.bitsAllocated) - 8);
    s = new Uint8Array(total);
    for (let i = 0; i < total; i++) s[i] = Math.min(255, Math.floor(wide[i]! / shift));
  }
  if (f.photometric === 'YBR_FULL_422') {
    // Two luminance samples share one pair of chrominance samples: Y1 Y2 Cb Cr.
    for (let i = 0, j = 0; i < n; i += 2, j += 4) {
      const cb = s[j + 2]! - 128;
      const cr = s[j + 3]! - 128;
      for (let k = 0; k < 2 && i + k < n; k++) {
        const y = s[j + k]!;
        const o = 4 * (i + k);
        out[o] = clamp8(y + 1.402 * cr);
        out[o + 1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
        out[o + 2] = clamp8(y + 1.772 * cb);
        out[o + 3] = 255;
      }
    }
    return out;
  }
  const planar = f.planar === 1;
  for (let i = 0; i < n; i++) {
    const a = planar ? s[i]! : s[3 * i]!;
    const b = planar ? s[n + i]! : s[3 * i + 1]!;
    const c = planar ? s[2 * n + i]! : s[3 * i + 2]!;
    const o = 4 * i;
    if (f.photometric === 'YBR_FULL') {
      out[o] = clamp8(a + 1.402 * (c - 128));
      out[o + 1] = clamp8(a - 0.344136 * (b - 128) - 0.714136 * (c - 128));
      out[o + 2] = clamp8(a + 1.772 * (b - 128));
    } else {
      out[o] = a;
      out[o + 1] = b;
      out[o + 2] = c;
    }
    out[o + 3] = 255;
  }
  return out;
}

const jpegLossless = new Set(['1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70']);
const jpegLossy = new Set(['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.55']);
const jpegLS = new Set(['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81']);
const jpeg2000 = new Set(['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91', '1.2.840.10008.1.2.4.92', '1.2.840.10008.1.2.4.93', '1.2.840.10008.1.2.4.201', '1.2.840.10008.1.2.4.202', '1.2.840.10008.1.2.4.203']);

/**
 * The format of a frame stored in transfer syntax ts once the server has decoded it to native
 * little endian (WADO-RS /frames asked for 1.2.840.10008.1.2.1). The response does not say, so
 * this follows the server's decoders (as DCMTK and GDCM decode): colour comes by pixel from
 * every compressed syntax but RLE, which keeps the data set's Planar Configuration; lossy JPEG
 * turns YBR into RGB; lossless JPEG and JPEG 2000 give YBR_FULL_422 as YBR_FULL (full samples),
 * and JPEG 2000 YBR_RCT and YBR_ICT as RGB. Grey frames keep their format.
 */
export function decodedFormat(f: PixelFormat, ts: string): PixelFormat {
  if (f.samplesPerPixel !== 3) return f;
  const out = { ...f };
  const ybr = f.photometric.startsWith('YBR_');
  if (jpegLossy.has(ts)) {
    out.planar = 0;
    if (ybr) out.photometric = 'RGB';
  } else if (jpegLossless.has(ts) || jpegLS.has(ts)) {
    out.planar = 0;
    if (f.photometric === 'YBR_FULL_422') out.photometric = 'YBR_FULL';
  } else if (jpeg2000.has(ts)) {
    out.planar = 0;
    if (f.photometric === 'YBR_RCT' || f.photometric === 'YBR_ICT') out.photometric = 'RGB';
    else if (ybr && f.photometric !== 'YBR_FULL') out.photometric = 'YBR_FULL';
  }
  return out;
}

/**
 * Expands a Segmented Palette Color Lookup Table (PS3.3 C.7.9.2) into its entries: discrete
 * segments (opcode 0: n values), linear segments (opcode 1: n values from the previous value to
 * the given one, that one included) and indirect segments (opcode 2: n segments read again from
 * an offset, in words, given as two words least significant first).
 */
export function expandSegmented(words: Uint16Array, entries: number): Uint16Array {
  const out = new Uint16Array(entries);
  let n = 0;
  const push = (v: number) => {
    if (n < entries) out[n++] = v;
  };
  const run = (start: number, maxSegments: number, depth: number): void => {
    let p = start;
    let segments = 0;
    while (p + 1 < words.length && segments < maxSegments && n < entries) {
      const op = words[p]!;
      const len = words[p + 1]!;
      p += 2;
      if (op === 0) {
        for (let i = 0; i < len && p + i < words.length; i++) push(words[p + i]!);
        p += len;
      } else if (op === 1) {
        if (n === 0) throw new Error('segmented palette: a linear segment comes first');
        const y0 = out[n - 1]!;
        const y1 = words[p++] ?? y0;
        for (let i = 1; i <= len; i++) push(Math.round(y0 + ((y1 - y0) * i) / len));
      } else if (op === 2) {
        if (n === 0 || depth > 2) throw new Error('segmented palette: misplaced indirect segment');
        const off = (words[p] ?? 0) + (words[p + 1] ?? 0) * 65536;
        p += 2;
        run(off, len, depth + 1);
      } else {
        throw new Error(`segmented palette: unknown segment type ${op}`);
      }
      segments++;
    }
  };
  run(0, Infinity, 0);
  if (n === 0) throw new Error('segmented palette: no entries');
  // Entries the segments did not reach keep the last value.
  out.fill(out[n - 1]!, n);
  return out;
}
