// A series as the viewer shows it: its instances' metadata, the images in display order (one per
// frame), and their pixels, loaded progressively: the image in view first, then the others by
// their distance from it, a few requests at a time.

import {
  T,
  binaryValue,
  type Dataset,
  fetchFrames,
  fetchRendered,
  type FramePart,
  instancePath,
  items,
  explicitLittle,
  jpegBaseline,
  nativeSyntaxes,
  param,
  root,
  num,
  nums,
  search,
  seriesMetadata,
  seriesMetadataResponse,
  type Early,
  readFrames,
  str,
} from './dicomweb';
import {
  colorDecodable,
  decodeColor,
  decodedFormat,
  frameBytes,
  GrayFrame,
  grayDecodable,
  type Palette,
  paletteTable,
  segmentedPaletteTable,
  type PixelFormat,
  type Voi,
  voiFunction,
} from './image';

/** What a series holds, as far as showing it goes. */
export type SeriesKind = 'image' | 'sr' | 'pdf' | 'other';

/** One instance and what the viewer reads from its metadata. */
export interface Instance {
  ds: Dataset;
  study: string;
  series: string;
  sop: string;
  sopClass: string;
  modality: string;
  transferSyntax: string;
  format: PixelFormat;
  /** The format of the frames the server sends uncompressed (decoded when stored compressed). */
  native: PixelFormat;
  slope: number;
  intercept: number;
  /** The windows of the data set (Window Center and Width), first the default. */
  windows: Voi[];
  windowNames: string[];
  /** Row and column spacing in mm, and where it came from. */
  spacing?: [number, number];
  spacingNote: string;
  frames: number;
  /** Frames per second for cine, from Frame Time, Cine Rate or Recommended Display Frame Rate. */
  fps: number;
  units: string;
  palette?: Palette;
}

/** One displayable image: a frame of an instance. */
export interface ImageRef {
  inst: Instance;
  /** 1-based frame number. */
  frame: number;
  key: string;
}

export type Pixels =
  | GrayFrame
  | { kind: 'color'; rgba: Uint8ClampedArray }
  | { kind: 'bitmap'; bitmap: ImageBitmap; note: string }
  | { kind: 'error'; message: string };

const srPrefix = '1.2.840.10008.5.1.4.1.1.88.';
const pdfClass = '1.2.840.10008.5.1.4.1.1.104.1';

/** Reads what the viewer needs of an instance's metadata. */
export function describe(ds: Dataset): Instance {
  const shared = items(ds, T.SharedFunctionalGroupsSequence)[0];
  const perFrame = items(ds, T.PerFrameFunctionalGroupsSequence)[0];
  const fg = (seq: string): Dataset | undefined => items(shared, seq)[0] ?? items(perFrame, seq)[0];
  const measures = fg(T.PixelMeasuresSequence);
  const transform = fg(T.PixelValueTransformationSequence);
  const voiSeq = fg(T.FrameVOILUTSequence);
  const bitsAllocated = num(ds, T.BitsAllocated, 0);
  const bitsStored = num(ds, T.BitsStored, bitsAllocated);
  const format: PixelFormat = {
    rows: num(ds, T.Rows, 0),
    columns: num(ds, T.Columns, 0),
    samplesPerPixel: num(ds, T.SamplesPerPixel, 1),
    photometric: str(ds, T.PhotometricInterpretation).toUpperCase() || 'MONOCHROME2',
    planar: num(ds, T.PlanarConfiguration, 0),
    bitsAllocated,
    bitsStored,
    highBit: num(ds, T.HighBit, bitsStored - 1),
    signed: num(ds, T.PixelRepresentation, 0) === 1,
    float: !!ds[T.FloatPixelData] || !!ds[T.DoubleFloatPixelData],
  };
  const slope = num(ds, T.RescaleSlope, num(transform, T.RescaleSlope, 1)) || 1;
  const intercept = num(ds, T.RescaleIntercept, num(transform, T.RescaleIntercept, 0));
  const centers = nums(ds, T.WindowCenter).length ? nums(ds, T.WindowCenter) : nums(voiSeq, T.WindowCenter);
  const widths = nums(ds, T.WindowWidth).length ? nums(ds, T.WindowWidth) : nums(voiSeq, T.WindowWidth);
  const fn = voiFunction(str(ds, T.VOILUTFunction) || str(voiSeq, T.VOILUTFunction));
  const windows: Voi[] = [];
  const windowNames: string[] = [];
  const expl = (ds[T.WindowCenterWidthExplanation]?.Value ?? []) as unknown[];
  for (let i = 0; i < Math.min(centers.length, widths.length); i++) {
    if (widths[i]! > 0) {
      windows.push({ center: centers[i]!, width: widths[i]!, fn });
      windowNames.push(String(expl[i] ?? ''));
    }
  }
  let spacing: [number, number] | undefined;
  let spacingNote = '';
  const ps = nums(ds, T.PixelSpacing).length ? nums(ds, T.PixelSpacing) : nums(measures, T.PixelSpacing);
  const ips = nums(ds, T.ImagerPixelSpacing);
  if (ps.length >= 2 && ps[0]! > 0 && ps[1]! > 0) {
    spacing = [ps[0]!, ps[1]!];
  } else if (ips.length >= 2 && ips[0]! > 0 && ips[1]! > 0) {
    spacing = [ips[0]!, ips[1]!];
    spacingNote = 'at detector';
  }
  const modality = str(ds, T.Modality);
  const frameTime = num(ds, T.FrameTime, 0);
  const fps = frameTime > 0 ? 1000 / frameTime : num(ds, T.CineRate, 0) || num(ds, T.RecommendedDisplayFrameRate, 0) || 15;
  let units = str(ds, T.RescaleType);
  if (modality === 'CT' && (!units || units === 'US')) units = 'HU';
  if (units === 'US') units = '';
  return {
    ds,
    study: str(ds, T.StudyInstanceUID),
    series: str(ds, T.SeriesInstanceUID),
    sop: str(ds, T.SOPInstanceUID),
    sopClass: str(ds, T.SOPClassUID),
    modality,
    transferSyntax: str(ds, T.AvailableTransferSyntaxUID),
    format,
    native: decodedFormat(format, str(ds, T.AvailableTransferSyntaxUID)),
    slope,
    intercept,
    windows,
    windowNames,
    spacing,
    spacingNote,
    frames: Math.max(1, num(ds, T.NumberOfFrames, 1)),
    fps: Math.min(120, Math.max(1, Math.round(fps))),
    units,
  };
}

export function kindOf(inst: Instance): SeriesKind {
  if (inst.sopClass.startsWith(srPrefix)) return 'sr';
  if (inst.sopClass === pdfClass) return 'pdf';
  if (inst.format.rows > 0 && inst.format.columns > 0 && (inst.ds[T.PixelData] || inst.ds[T.FloatPixelData] || inst.ds[T.DoubleFloatPixelData] || inst.format.bitsAllocated > 0)) return 'image';
  return 'other';
}

/**
 * Sorts instances: along the slice normal when every one has a position, in the direction of
 * their Instance Numbers (the lowest first), else by Instance Number.
 */
export function sortInstances(list: Instance[]): Instance[] {
  const pos = (i: Instance) => nums(i.ds, T.ImagePositionPatient);
  const iop = nums(list[0]?.ds, T.ImageOrientationPatient);
  const inum = (i: Instance) => num(i.ds, T.InstanceNumber, 0);
  if (list.length > 1 && iop.length === 6 && list.every(i => pos(i).length === 3 && i.frames === 1)) {
    const [a, b, c, d, e, f] = iop as [number, number, number, number, number, number];
    const n = [b * f - c * e, c * d - a * f, a * e - b * d];
    const keyed = list.map(i => {
      const p = pos(i);
      return { i, d: p[0]! * n[0]! + p[1]! * n[1]! + p[2]! * n[2]!, k: inum(i) };
    });
    keyed.sort((x, y) => x.d - y.d || x.k - y.k);
    let lowest = 0;
    keyed.forEach((x, j) => {
      if (x.k < keyed[lowest]!.k) lowest = j;
    });
    if (lowest >= keyed.length / 2) keyed.reverse();
    return keyed.map(x => x.i);
  }
  const keyed = list.map(i => ({ i, k: inum(i) }));
  return keyed.sort((x, y) => x.k - y.k).map(x => x.i);
}

/** Called with the index of an image whose pixels arrived, or -1 when the images were re-listed. */
type Listener = (index: number) => void;

/** A unit of loading: some frames of one instance, fetched in one request. */
interface Job {
  inst: Instance;
  /** The images, in frame order. */
  images: ImageRef[];
  state: 'queued' | 'running' | 'done';
}

const concurrency = 6;

/** The transfer syntaxes whose Part 10 files end with the native Pixel Data. */
const streamSyntaxes = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1']);

/**
 * Splits a multipart/related body into parts as its chunks arrive. A part whose header gives its
 * Content-Length (Lightbox's do) is copied once, from the chunks into a buffer of its own,
 * without searching its content for the delimiter; the others are gathered and searched. The
 * chunks may be reused by the caller once push returns: what is kept is copied.
 */
export class MultipartStream {
  // A CRLF stands before the body, so that every delimiter, the first too, is CRLF--boundary.
  private buf = new Uint8Array(1 << 16);
  /** The bytes of buf not consumed yet. */
  private start = 0;
  private len = 2;
  /** Whether start is in the content of a part without a Content-Length (else at a delimiter). */
  private inBody = false;
  /** Where the search for the end of that content resumes. */
  private scan = 0;
  /** The part being filled to its Content-Length. */
  private part: { content: Uint8Array; filled: number } | undefined;
  private ended = false;
  private readonly delim: Uint8Array;

  /**
   * offset(length) says where in a new buffer the content of a part of that length begins, so
   * that the caller can align what it takes from the part's end (the Pixel Data, as a typed array).
   */
  constructor(
    boundary: string,
    private readonly offset: (length: number) => number = () => 0,
  ) {
    this.delim = new TextEncoder().encode(`\r\n--${boundary}`);
    this.buf[0] = 13;
    this.buf[1] = 10;
  }

  /** Adds a chunk and returns the parts it completed (copies, owning their buffers). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    const rest = this.part ? this.fill(chunk, out) : chunk;
    if (this.part || this.ended) return out;
    this.append(rest);
    this.parse(out);
    return out;
  }

  /** Copies what it can of c into the part being filled; returns the rest of c. */
  private fill(c: Uint8Array, out: Uint8Array[]): Uint8Array {
    const p = this.part!;
    const n = Math.min(c.length, p.content.length - p.filled);
    p.content.set(c.subarray(0, n), p.filled);
    p.filled += n;
    if (p.filled === p.content.length) {
      out.push(p.content);
      this.part = undefined;
    }
    return c.subarray(n);
  }

  private append(c: Uint8Array): void {
    if (this.len + c.length > this.buf.length) {
      if (this.start > 0) {
        this.buf.copyWithin(0, this.start, this.len);
        this.len -= this.start;
        this.scan = Math.max(0, this.scan - this.start);
        this.start = 0;
      }
      if (this.len + c.length > this.buf.length) {
        const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + c.length));
        grown.set(this.buf.subarray(0, this.len));
        this.buf = grown;
      }
    }
    this.buf.set(c, this.len);
    this.len += c.length;
  }

  private parse(out: Uint8Array[]): void {
    const d = this.delim.length;
    while (!this.ended) {
      const data = this.buf.subarray(0, this.len);
      if (this.inBody) {
        const next = indexOfBytes(data, this.delim, Math.max(this.start, this.scan));
        if (next < 0) {
          this.scan = Math.max(this.start, this.len - d + 1);
          return;
        }
        out.push(data.slice(this.start, next));
        this.start = next;
        this.inBody = false;
        continue;
      }
      // At a delimiter: the close delimiter ends the body; a part's header lines end at an empty line.
      if (this.len - this.start < d + 2) return;
      for (let j = 0; j < d; j++) if (data[this.start + j] !== this.delim[j]) throw new Error('multipart: a part does not end at a delimiter');
      if (data[this.start + d] === 45 && data[this.start + d + 1] === 45) {
        this.ended = true;
        return;
      }
      const headEnd = indexOfBytes(data, crlfcrlf, this.start + d);
      if (headEnd < 0) {
        if (this.len - this.start > maxPartHeader) throw new Error('multipart: part header too long');
        return;
      }
      const length = contentLength(data.subarray(this.start + d, headEnd));
      this.start = headEnd + 4;
      if (length < 0) {
        this.inBody = true;
        this.scan = this.start;
        continue;
      }
      const at = this.offset(length);
      this.part = { content: new Uint8Array(new ArrayBuffer(at + length), at, length), filled: 0 };
      this.start = this.len - this.fill(data.subarray(this.start), out).length;
      if (this.part) {
        this.start = this.len = 0;
        return;
      }
    }
  }
}

/** The longest part header taken, and the largest Content-Length. */
const maxPartHeader = 16 << 10;
const maxPartLength = 2 ** 31;

/** The Content-Length of a part's header lines, or -1. */
function contentLength(header: Uint8Array): number {
  const m = /(?:^|\r\n)content-length[ \t]*:[ \t]*(\d{1,10})[ \t]*(?:\r\n|$)/i.exec(String.fromCharCode(...header));
  const n = m ? Number(m[1]) : -1;
  return n <= maxPartLength ? n : -1;
}

/**
 * The chunks of a response body: read into one buffer reused from read to read where the browser
 * offers a BYOB reader (fetch bodies are byte streams), which spares the allocation of a new
 * buffer per chunk; else as the default reader gives them. A chunk is valid until the next.
 */
export async function* bodyChunks(body: ReadableStream<Uint8Array>, size = 1 << 20): AsyncGenerator<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: 'byob' });
  } catch {
    // Not a byte stream.
  }
  if (!byob) {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  }
  let buf = new ArrayBuffer(size);
  for (;;) {
    const { done, value } = await byob.read(new Uint8Array(buf));
    if (done || !value) return;
    yield value;
    buf = value.buffer;
  }
}

const crlfcrlf = new Uint8Array([13, 10, 13, 10]);

function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i >= 0 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** The Media Storage SOP Instance UID (0002,0003) of a Part 10 file's File Meta Information. */
export function part10SOPInstanceUID(f: Uint8Array): string | undefined {
  if (f.length < 144 || f[128] !== 0x44 || f[129] !== 0x49 || f[130] !== 0x43 || f[131] !== 0x4d) return undefined;
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  let p = 132;
  while (p + 8 <= f.length && dv.getUint16(p, true) === 0x0002) {
    const el = dv.getUint16(p + 2, true);
    const vr = String.fromCharCode(f[p + 4]!, f[p + 5]!);
    let len: number;
    let val: number;
    if (['OB', 'OW', 'UN', 'SQ', 'UT', 'UC', 'UR', 'OD', 'OF', 'OL', 'OV'].includes(vr)) {
      len = dv.getUint32(p + 8, true);
      val = p + 12;
    } else {
      len = dv.getUint16(p + 6, true);
      val = p + 8;
    }
    if (val + len > f.length) return undefined;
    if (el === 0x0003) return new TextDecoder().decode(f.subarray(val, val + len)).replace(/[\0 ]+$/, '');
    p = val + len;
  }
  return undefined;
}

/**
 * The native Pixel Data of a Part 10 file that ends with it (as files of single-frame images
 * almost always do): the last size bytes, taken only when the element's header stands right
 * before them with that length.
 */
export function nativePixelData(f: Uint8Array, size: number, ts: string): Uint8Array | undefined {
  const explicit = ts !== '1.2.840.10008.1.2';
  const h = f.length - size - (explicit ? 12 : 8);
  if (size <= 0 || h < 132) return undefined;
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (dv.getUint16(h, true) !== 0x7fe0 || dv.getUint16(h + 2, true) !== 0x0010) return undefined;
  const len = explicit ? dv.getUint32(h + 8, true) : dv.getUint32(h + 4, true);
  if (len !== size) return undefined;
  return f.subarray(f.length - size);
}
const framesPerRequest = 16;

/**
 * What the viewer learns of a study before its series' metadata: the first instance of its
 * first series (one QIDO-RS query with every attribute), with the request for that instance's
 * first frame and for its series' metadata already on their way. The first image is drawn from
 * these, without waiting for the metadata of the whole series.
 */
export interface Probe {
  study: string;
  series: string;
  inst: Instance;
  frames: Promise<FramePart[]>;
  /** The series' metadata, read once the first image is in (reading 500 instances' takes a while). */
  metadata: Promise<Response>;
}

/** The query of the probe (index.html makes the same before the viewer's code has loaded). */
export const probeQuery = 'includefield=all&orderby=SeriesNumber,InstanceNumber&limit=1';

/**
 * Starts the probe of a study (early: the same requests, made by index.html); undefined when its
 * first instance is not an image drawn that way.
 */
export async function probeStudy(study: string, early?: Early['probe']): Promise<Probe | undefined> {
  const got = early ? await early : undefined;
  const ds = got ? got.ds : (await search(`/studies/${study}/instances`, new URLSearchParams(probeQuery))).items[0];
  if (!ds) return undefined;
  const inst = describe(ds);
  // Palette colour needs its tables first; documents are not images.
  if (kindOf(inst) !== 'image' || inst.format.photometric === 'PALETTE COLOR' || !inst.series || !inst.sop) return undefined;
  inst.study = inst.study || study;
  const url = `${instancePath(inst.study, inst.series, inst.sop)}/frames/1`;
  const frames = got?.frames ? readFrames(got.frames, frameBytes(inst.native)) : fetchFrames(url, undefined, frameBytes(inst.native));
  const metadata = seriesMetadataResponse(inst.study, inst.series, undefined, got?.metadata);
  // Failures are dealt with by those who wait for them.
  frames.catch(() => {});
  metadata.catch(() => {});
  return { study, series: inst.series, inst, frames, metadata };
}

export class Series {
  kind: SeriesKind;
  instances: Instance[] = [];
  images: ImageRef[] = [];
  pixels: (Pixels | undefined)[] = [];
  loaded = 0;
  /** Whether only the first instance is known yet (the series' metadata is on its way). */
  partial = false;
  /** Timings (performance.now()) for the benchmark and the tests. */
  readonly timing: { start: number; metadata: number; first: number; all: number } = { start: 0, metadata: 0, first: 0, all: 0 };
  private jobs: Job[] = [];
  private jobOf: Job[] = [];
  private indexOf = new Map<string, number>();
  /** The image keys before the last re-listing. */
  private previous: string[] = [];
  private focus = 0;
  private running = 0;
  private readonly listeners = new Set<Listener>();
  private readonly abort = new AbortController();
  private started = false;
  private streaming = false;
  /** Frames already asked for (by the probe), by image key. */
  private readonly prefetched = new Map<string, Promise<FramePart[]>>();

  private constructor(
    readonly study: string,
    readonly uid: string,
    metadata: Dataset[],
    start: number,
  ) {
    this.timing.start = start;
    this.kind = 'other';
    this.list(metadata.map(describe));
  }

  /** Lists the instances and their images, keeping the pixels already loaded. */
  private list(all: Instance[]): void {
    const kinds = all.map(kindOf);
    this.kind = kinds.includes('image') ? 'image' : (kinds[0] ?? 'other');
    this.instances = sortInstances(this.kind === 'image' ? all.filter((_, i) => kinds[i] === 'image') : all);
    const had = new Map<string, Pixels>();
    this.images.forEach((im, i) => {
      const px = this.pixels[i];
      if (px) had.set(im.key, px);
    });
    const running = new Set(this.jobs.filter(j => j.state === 'running').flatMap(j => j.images.map(im => im.key)));
    this.previous = this.images.map(im => im.key);
    this.images = [];
    this.pixels = [];
    this.jobs = [];
    this.jobOf = [];
    this.indexOf.clear();
    this.loaded = 0;
    if (this.kind !== 'image') return;
    for (const inst of this.instances) {
      const first = this.images.length;
      for (let f = 1; f <= inst.frames; f++) {
        const key = `${inst.sop}/${f}`;
        this.indexOf.set(key, this.images.length);
        this.images.push({ inst, frame: f, key });
        const px = had.get(key);
        this.pixels.push(px);
        if (px) this.loaded++;
      }
      // The first frame of an instance alone, so that it shows as soon as possible; the others
      // in groups. Images loaded or on their way are not asked for again.
      const idx = Array.from({ length: inst.frames }, (_, k) => first + k);
      const groups = [idx.slice(0, 1)];
      for (let k = 1; k < idx.length; k += framesPerRequest) groups.push(idx.slice(k, k + framesPerRequest));
      for (const g of groups) {
        const refs = g.map(i => this.images[i]!);
        const done = refs.every(im => had.has(im.key) || running.has(im.key));
        const job: Job = { inst, images: refs, state: done ? 'done' : 'queued' };
        this.jobs.push(job);
        for (const i of g) this.jobOf[i] = job;
      }
    }
  }

  /** Fetches the series' metadata (or takes the request already made). */
  static async open(study: string, series: string, metadata?: Promise<Dataset[]>): Promise<Series> {
    const start = performance.now();
    const md = await (metadata ?? seriesMetadata(study, series));
    const s = new Series(study, series, md, start);
    s.timing.metadata = performance.now();
    if (s.kind === 'image') await s.loadPalettes();
    return s;
  }

  /**
   * A series known by its first instance only (a probe): its first image loads from the frames
   * the probe asked for, and the other images are listed when the series' metadata arrives.
   */
  static fromProbe(p: Probe): Series {
    const s = new Series(p.study, p.series, [], performance.now());
    s.partial = true;
    s.list([p.inst]);
    const first = s.images[0];
    if (first) s.prefetched.set(first.key, p.frames);
    p.metadata
      .then(async resp => {
        await s.firstLoaded();
        // The first image is drawn before the metadata are read.
        await new Promise(r => setTimeout(r, 0));
        const md = (await resp.json()) as Dataset[];
        const all = md.map(describe);
        for (const inst of all) if (!inst.study) inst.study = p.study;
        if (s.abort.signal.aborted || !all.some(i => i.sop === p.inst.sop)) throw new Error('the metadata do not list the first instance');
        s.timing.metadata = performance.now();
        await s.loadPalettes(all);
        if (s.abort.signal.aborted) return;
        s.partial = false;
        s.list(all);
        if (s.loaded === s.images.length && s.loaded) s.timing.all = performance.now();
        for (const fn of s.listeners) fn(-1);
        s.maybeStream();
        s.pump();
      })
      .catch(() => {
        // The series stays as its first instance.
        s.partial = false;
        for (const fn of s.listeners) fn(-1);
      });
    return s;
  }

  private async loadPalettes(list = this.instances): Promise<void> {
    for (const inst of list) {
      if (inst.format.photometric !== 'PALETTE COLOR' || inst.palette) continue;
      try {
        const ds = inst.ds;
        const tables = await Promise.all(
          [
            [T.RedPaletteColorLookupTableDescriptor, T.RedPaletteColorLookupTableData, T.SegmentedRedPaletteColorLookupTableData],
            [T.GreenPaletteColorLookupTableDescriptor, T.GreenPaletteColorLookupTableData, T.SegmentedGreenPaletteColorLookupTableData],
            [T.BluePaletteColorLookupTableDescriptor, T.BluePaletteColorLookupTableData, T.SegmentedBluePaletteColorLookupTableData],
          ].map(async ([d, v, seg]) => {
            const desc = nums(ds, d!);
            const data = await binaryValue(ds, v!, this.abort.signal);
            if (data) return paletteTable(desc, data);
            const segments = await binaryValue(ds, seg!, this.abort.signal);
            if (segments) return segmentedPaletteTable(desc, segments);
            throw new Error('no palette data');
          }),
        );
        inst.palette = { first: tables[0]!.first, red: tables[0]!.table, green: tables[1]!.table, blue: tables[2]!.table };
      } catch {
        // Without a palette the frames are shown as the server renders them, if it can.
      }
    }
  }

  onLoad(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Where the image at index i before the images were re-listed is now (0 when gone). */
  moved(i: number): number {
    return Math.max(0, this.index(this.previous[i] ?? ''));
  }

  /** The index of an image by its key, or -1. */
  index(key: string): number {
    return this.indexOf.get(key) ?? -1;
  }

  /** Moves the loading focus: the image i and those near it come next. */
  prioritize(i: number): void {
    this.focus = i;
    this.pump();
  }

  /** Starts loading (once), from image first. */
  start(first = 0): void {
    this.focus = first;
    if (this.started) return this.pump();
    this.started = true;
    this.pump();
    this.maybeStream();
  }

  /** Streams the rest of the series once the image in view is in, so as not to slow it down. */
  private maybeStream(): void {
    if (!this.started || this.streaming || this.partial || !this.streamable()) return;
    this.streaming = true;
    this.firstLoaded()
      .then(() => this.stream())
      .catch(() => {
        // The frames are fetched one by one instead.
      })
      .finally(() => {
        this.streaming = false;
        if (!this.abort.signal.aborted) this.pump();
      });
  }

  private firstLoaded(): Promise<void> {
    if (this.loaded > 0) return Promise.resolve();
    return new Promise(resolve => {
      const off = this.onLoad(i => {
        if (i < 0) return;
        off();
        resolve();
      });
    });
  }

  /**
   * Whether the series is fetched whole in one response: many single-frame instances stored
   * little endian uncompressed. One response carries the 500 slices of a CT about three times
   * faster than 500 requests for frames, whose per-request cost in the browser dominates.
   */
  private streamable(): boolean {
    return (
      this.images.length >= 8 &&
      this.loaded < this.images.length &&
      this.instances.every(i => i.frames === 1 && streamSyntaxes.has(i.transferSyntax) && i.format.bitsAllocated >= 8 && !i.format.float)
    );
  }

  /** Reads the series as Part 10 instances and takes each one's Pixel Data as it arrives. */
  private async stream(): Promise<void> {
    const resp = await fetch(`${root}/studies/${this.study}/series/${this.uid}`, {
      headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
      signal: this.abort.signal,
    });
    const boundary = param(resp.headers.get('Content-Type') ?? '', 'boundary');
    if (!resp.ok || !resp.body || !boundary) throw new Error(`series: HTTP ${resp.status}`);
    // The Pixel Data ends each part: the parts' contents are placed so that it starts 8-aligned
    // when it has the series' usual size, and is then kept where it is, without a copy.
    const sizes = new Set(this.images.map(im => frameBytes(im.inst.format)));
    const size = sizes.size === 1 ? [...sizes][0]! : 0;
    const parser = new MultipartStream(boundary, length => (size > 0 && length >= size ? (8 - ((length - size) % 8)) % 8 : 0));
    for await (const chunk of bodyChunks(resp.body)) {
      for (const part of parser.push(chunk)) {
        const sop = part10SOPInstanceUID(part);
        const i = sop === undefined ? -1 : this.index(`${sop}/1`);
        if (i < 0 || this.pixels[i]) continue;
        const ref = this.images[i]!;
        const bytes = nativePixelData(part, frameBytes(ref.inst.format), ref.inst.transferSyntax);
        if (!bytes) continue;
        const job = this.jobOf[i];
        if (job && job.state === 'queued') job.state = 'done';
        const px = await decodePart({ bytes, contentType: 'application/octet-stream', transferSyntax: explicitLittle }, ref.inst);
        if (px) this.set(ref, px);
      }
    }
  }

  close(): void {
    this.abort.abort();
    for (const p of this.pixels) if (p?.kind === 'bitmap') p.bitmap.close();
  }

  /** Bytes held for pixels. */
  bytes(): number {
    let n = 0;
    for (const p of this.pixels) {
      if (p?.kind === 'gray') n += p.byteLength;
      else if (p?.kind === 'color') n += p.rgba.byteLength;
      else if (p?.kind === 'bitmap') n += p.bitmap.width * p.bitmap.height * 4;
    }
    return n;
  }

  private focusJob(): Job | undefined {
    const j = this.jobOf[this.focus];
    return j && j.state === 'queued' ? j : undefined;
  }

  private next(): Job | undefined {
    const want = this.jobOf[this.focus];
    if (want && want.state === 'queued') return want;
    let best: Job | undefined;
    let bestD = Infinity;
    for (const j of this.jobs) {
      if (j.state !== 'queued') continue;
      const d = Math.abs(this.index(j.images[0]!.key) - this.focus);
      if (d < bestD) {
        best = j;
        bestD = d;
      }
    }
    return best;
  }

  private pump(): void {
    // While the series streams in, only the image in view is fetched on its own.
    const limit = this.streaming ? 1 : concurrency;
    while (this.running < limit) {
      const job = this.streaming ? this.focusJob() : this.next();
      if (!job) return;
      job.state = 'running';
      this.running++;
      this.run(job)
        .catch(err => {
          if (this.abort.signal.aborted) return;
          for (const im of job.images) this.set(im, { kind: 'error', message: String(err instanceof Error ? err.message : err) });
        })
        .finally(() => {
          job.state = 'done';
          this.running--;
          if (!this.abort.signal.aborted) this.pump();
        });
    }
  }

  /** Keeps the pixels of an image (found by its key: the list may have changed meanwhile). */
  private set(ref: ImageRef, p: Pixels): void {
    const i = this.index(ref.key);
    if (i < 0 || this.pixels[i]) return;
    this.pixels[i] = p;
    this.loaded++;
    const now = performance.now();
    if (!this.timing.first) this.timing.first = now;
    if (this.loaded === this.images.length && !this.partial) this.timing.all = now;
    for (const fn of this.listeners) fn(i);
  }

  /**
   * Loads the frames of a job: uncompressed (converted by the server when stored compressed),
   * else as stored (baseline JPEG is decoded here), else as the server renders them.
   */
  private async run(job: Job): Promise<void> {
    const { inst } = job;
    const frames = job.images.map(im => im.frame);
    const base = instancePath(inst.study, inst.series, inst.sop);
    const url = `${base}/frames/${frames.join(',')}`;
    let parts: FramePart[] = [];
    const pre = job.images.length === 1 ? this.prefetched.get(job.images[0]!.key) : undefined;
    this.prefetched.delete(job.images[0]!.key);
    try {
      parts = await (pre ?? fetchFrames(url, this.abort.signal, frameBytes(inst.native)));
    } catch (err) {
      if (this.abort.signal.aborted) throw err;
      if (!nativeSyntaxes.has(inst.transferSyntax)) {
        try {
          // A server that does not convert this syntax: the frames as stored.
          parts = await fetchFrames(url, this.abort.signal, 0, 'stored');
        } catch (err2) {
          if (this.abort.signal.aborted) throw err2;
        }
      }
    }
    for (let k = 0; k < job.images.length; k++) {
      const part = parts[k];
      let px: Pixels | undefined;
      if (part) px = await decodePart(part, inst);
      if (!px) px = await this.rendered(base, frames[k]!, inst);
      this.set(job.images[k]!, px);
    }
  }

  private async rendered(base: string, frame: number, inst: Instance): Promise<Pixels> {
    try {
      const bitmap = await fetchRendered(`${base}/frames/${frame}/rendered`, undefined, this.abort.signal);
      return { kind: 'bitmap', bitmap, note: 'rendered by the server' };
    } catch (err) {
      const ts = inst.transferSyntax ? ` (transfer syntax ${inst.transferSyntax})` : '';
      return { kind: 'error', message: `Cannot display this image${ts}: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}

/**
 * The format of a native frame part of an instance: as stored, or as the server decoded it. A
 * YBR_FULL_422 frame the size of three full samples a pixel was decoded to full samples.
 */
function partFormat(part: FramePart, inst: Instance): PixelFormat {
  const f = nativeSyntaxes.has(inst.transferSyntax) ? inst.format : inst.native;
  if (f.photometric === 'YBR_FULL_422' && part.bytes.length >= frameBytes({ ...f, photometric: 'YBR_FULL' })) return { ...f, photometric: 'YBR_FULL', planar: 0 };
  return f;
}

/** Decodes a frame part into pixels, or undefined when the browser cannot (the server's rendering is tried then). */
export async function decodePart(part: FramePart, inst: Instance): Promise<Pixels | undefined> {
  const ts = part.transferSyntax || inst.transferSyntax;
  const native = nativeSyntaxes.has(ts) || (!part.transferSyntax && part.contentType.startsWith('application/octet-stream'));
  if (native) {
    const f = partFormat(part, inst);
    if (part.bytes.length < frameBytes(f)) return undefined;
    if (f.samplesPerPixel === 1 && f.photometric.startsWith('MONOCHROME') && grayDecodable(f)) {
      return new GrayFrame(part.bytes, f);
    }
    if (colorDecodable(f, inst.palette)) return { kind: 'color', rgba: decodeColor(part.bytes, f, inst.palette) };
    return undefined;
  }
  const f = inst.format;
  if (ts === jpegBaseline && f.bitsAllocated === 8) {
    // The browser decodes baseline JPEG itself; greyscale keeps its values so that the window applies.
    try {
      const bmp = await createImageBitmap(new Blob([part.bytes as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), { colorSpaceConversion: 'none' });
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const ctx = c.getContext('2d', { willReadFrequently: true });
      if (!ctx) return undefined;
      ctx.drawImage(bmp, 0, 0);
      bmp.close();
      const rgbaData = ctx.getImageData(0, 0, c.width, c.height).data;
      if (f.samplesPerPixel === 1 && f.photometric.startsWith('MONOCHROME')) {
        const data = new Uint8Array(c.width * c.height);
        for (let p = 0; p < data.length; p++) data[p] = rgbaData[4 * p]!;
        return new GrayFrame(data, { ...f, rows: c.height, columns: c.width, bitsAllocated: 8, bitsStored: 8, highBit: 7, signed: false });
      }
      return { kind: 'color', rgba: rgbaData };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
