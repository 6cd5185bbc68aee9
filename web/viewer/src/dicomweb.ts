// DICOMweb client: QIDO-RS searches, WADO-RS metadata, frames, bulk data and rendered images, all
// from the same origin's /dicom-web.

export const root = '/dicom-web';

/** A DICOM JSON data set (PS3.18 F.2). */
export type Dataset = Record<string, Attr>;

export interface Attr {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}

interface PersonName {
  Alphabetic?: string;
  Ideographic?: string;
  Phonetic?: string;
}

/** Tags used by the viewer (group and element as eight upper-case hex digits). */
export const T = {
  SpecificCharacterSet: '00080005',
  ImageType: '00080008',
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  StudyDate: '00080020',
  SeriesDate: '00080021',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  Modality: '00080060',
  ModalitiesInStudy: '00080061',
  Manufacturer: '00080070',
  InstitutionName: '00080080',
  ReferringPhysicianName: '00080090',
  CodeValue: '00080100',
  CodingSchemeDesignator: '00080102',
  CodeMeaning: '00080104',
  StudyDescription: '00081030',
  SeriesDescription: '0008103E',
  RecommendedDisplayFrameRate: '00082144',
  AvailableTransferSyntaxUID: '00083002',
  PatientName: '00100010',
  PatientID: '00100020',
  PatientBirthDate: '00100030',
  PatientSex: '00100040',
  PatientAge: '00101010',
  CineRate: '00180040',
  SliceThickness: '00180050',
  FrameTime: '00181063',
  ImagerPixelSpacing: '00181164',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  StudyID: '00200010',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  ImagePositionPatient: '00200032',
  ImageOrientationPatient: '00200037',
  SliceLocation: '00201041',
  NumberOfStudyRelatedSeries: '00201206',
  NumberOfStudyRelatedInstances: '00201208',
  NumberOfSeriesRelatedInstances: '00201209',
  SamplesPerPixel: '00280002',
  PhotometricInterpretation: '00280004',
  PlanarConfiguration: '00280006',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
  PixelSpacing: '00280030',
  BitsAllocated: '00280100',
  BitsStored: '00280101',
  HighBit: '00280102',
  PixelRepresentation: '00280103',
  WindowCenter: '00281050',
  WindowWidth: '00281051',
  RescaleIntercept: '00281052',
  RescaleSlope: '00281053',
  RescaleType: '00281054',
  WindowCenterWidthExplanation: '00281055',
  VOILUTFunction: '00281056',
  RedPaletteColorLookupTableDescriptor: '00281101',
  GreenPaletteColorLookupTableDescriptor: '00281102',
  BluePaletteColorLookupTableDescriptor: '00281103',
  RedPaletteColorLookupTableData: '00281201',
  GreenPaletteColorLookupTableData: '00281202',
  BluePaletteColorLookupTableData: '00281203',
  SegmentedRedPaletteColorLookupTableData: '00281221',
  SegmentedGreenPaletteColorLookupTableData: '00281222',
  SegmentedBluePaletteColorLookupTableData: '00281223',
  SharedFunctionalGroupsSequence: '52009229',
  PerFrameFunctionalGroupsSequence: '52009230',
  PixelMeasuresSequence: '00289110',
  PlanePositionSequence: '00209113',
  PixelValueTransformationSequence: '00289145',
  FrameVOILUTSequence: '00289132',
  ValueType: '0040A040',
  ConceptNameCodeSequence: '0040A043',
  ContinuityOfContent: '0040A050',
  ContentSequence: '0040A730',
  RelationshipType: '0040A010',
  TextValue: '0040A160',
  ConceptCodeSequence: '0040A168',
  MeasuredValueSequence: '0040A300',
  NumericValue: '0040A30A',
  MeasurementUnitsCodeSequence: '004008EA',
  DateTime: '0040A120',
  Date: '0040A121',
  Time: '0040A122',
  PersonNameValue: '0040A123',
  UID: '0040A124',
  CompletionFlag: '0040A491',
  VerificationFlag: '0040A493',
  DocumentTitle: '00420010',
  EncapsulatedDocument: '00420011',
  MIMETypeOfEncapsulatedDocument: '00420012',
  PixelData: '7FE00010',
  FloatPixelData: '7FE00008',
  DoubleFloatPixelData: '7FE00009',
} as const;

/** First value of an attribute as a string ('' when absent); person names as their alphabetic form. */
export function str(ds: Dataset | undefined, tag: string): string {
  const v = ds?.[tag]?.Value?.[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return personName(v as PersonName);
  return String(v);
}

/** All values of an attribute as strings. */
export function strs(ds: Dataset | undefined, tag: string): string[] {
  return (ds?.[tag]?.Value ?? []).map(v => (v !== null && typeof v === 'object' ? personName(v as PersonName) : String(v ?? '')));
}

/** First value as a number, or def when absent or not a number. */
export function num(ds: Dataset | undefined, tag: string, def = NaN): number {
  const v = ds?.[tag]?.Value?.[0];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : def;
}

/** All values as numbers. */
export function nums(ds: Dataset | undefined, tag: string): number[] {
  return (ds?.[tag]?.Value ?? []).map(v => (typeof v === 'number' ? v : Number(v))).filter(n => Number.isFinite(n));
}

/** The items of a sequence. */
export function items(ds: Dataset | undefined, tag: string): Dataset[] {
  return ((ds?.[tag]?.Value ?? []) as unknown[]).filter((x): x is Dataset => x !== null && typeof x === 'object');
}

function personName(p: PersonName): string {
  return (p.Alphabetic ?? p.Ideographic ?? p.Phonetic ?? '').replace(/\^+/g, ' ').trim();
}

/** A person name for display: family name, given names. */
export function displayName(ds: Dataset | undefined, tag: string): string {
  const v = ds?.[tag]?.Value?.[0] as PersonName | string | undefined;
  const raw = typeof v === 'string' ? v : (v?.Alphabetic ?? v?.Ideographic ?? v?.Phonetic ?? '');
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = raw.split('^');
  const rest = [prefix, given, middle, suffix].filter(Boolean).join(' ');
  return family && rest ? `${family}, ${rest}` : family || rest;
}

/** YYYYMMDD as YYYY-MM-DD. */
export function formatDate(d: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})/.exec(d);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : d;
}

/** HHMMSS.frac as HH:MM:SS. */
export function formatTime(t: string): string {
  const m = /^(\d{2})(\d{2})?(\d{2})?/.exec(t);
  if (!m) return t;
  return [m[1], m[2], m[3]].filter(Boolean).join(':');
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function check(resp: Response, what: string): Promise<Response> {
  if (!resp.ok) {
    let text = '';
    try {
      text = (await resp.text()).slice(0, 300);
    } catch {
      // the body is only a detail
    }
    throw new HttpError(resp.status, `${what}: HTTP ${resp.status}${text ? ` — ${text}` : ''}`);
  }
  return resp;
}

const jsonAccept = { Accept: 'application/dicom+json' };

export interface SearchResult {
  items: Dataset[];
  /** X-Total-Count, or -1 when the server did not say. */
  total: number;
}

/** The URL of a QIDO-RS search. */
export function searchURL(path: string, params: URLSearchParams): string {
  const q = params.toString();
  return `${root}${path}${q ? `?${q}` : ''}`;
}

/**
 * QIDO-RS: path is /studies, /studies/{uid}/series, …; early is the response to the same
 * request when the page's first script already made it.
 */
export async function search(path: string, params: URLSearchParams, signal?: AbortSignal, early?: Promise<Response>): Promise<SearchResult> {
  const resp = await check(await (early ?? fetch(searchURL(path, params), { headers: jsonAccept, signal })), 'search');
  const total = Number(resp.headers.get('X-Total-Count') ?? '-1');
  if (resp.status === 204) return { items: [], total: Number.isFinite(total) && total >= 0 ? total : 0 };
  const items = (await resp.json()) as Dataset[];
  return { items, total: Number.isFinite(total) ? total : -1 };
}

/** WADO-RS metadata of a series. */
export async function seriesMetadata(study: string, series: string, signal?: AbortSignal): Promise<Dataset[]> {
  return (await (await seriesMetadataResponse(study, series, signal)).json()) as Dataset[];
}

/** The response to a WADO-RS metadata request for a series, its body still to read (early: the same request, already made). */
export async function seriesMetadataResponse(study: string, series: string, signal?: AbortSignal, early?: Promise<Response>): Promise<Response> {
  return check(await (early ?? fetch(`${root}/studies/${study}/series/${series}/metadata`, { headers: jsonAccept, signal })), 'metadata');
}

/**
 * The requests the page's first script (index.html) makes before the viewer's code has loaded:
 * the series of the first study, and its first instance (see probeStudy), and when that is an
 * image, the first frame (uncompressed) and the metadata of its series.
 */
export interface Early {
  study: string;
  series: Promise<Response>;
  probe: Promise<{ ds?: Dataset; frames?: Promise<Response>; metadata?: Promise<Response> }>;
}

/** The early requests for a study, taken once. */
export function takeEarly(study: string): Early | undefined {
  const w = window as unknown as { lightboxEarly?: Early };
  const e = w.lightboxEarly;
  if (!e || e.study !== study) return undefined;
  w.lightboxEarly = undefined;
  return e;
}

export function instancePath(study: string, series: string, instance: string): string {
  return `${root}/studies/${study}/series/${series}/instances/${instance}`;
}

/** Native (uncompressed) transfer syntaxes: the frames' bytes are little endian pixel values. */
export const nativeSyntaxes = new Set([
  '1.2.840.10008.1.2', // Implicit VR Little Endian
  '1.2.840.10008.1.2.1', // Explicit VR Little Endian
  '1.2.840.10008.1.2.1.99', // Deflated: the server sends the frames inflated
  '1.2.840.10008.1.2.2', // Big Endian: the server swaps the bytes of the frames
]);

export const explicitLittle = '1.2.840.10008.1.2.1';
export const jpegBaseline = '1.2.840.10008.1.2.4.50';

/** A frame as the server sent it. */
export interface FramePart {
  bytes: Uint8Array;
  contentType: string;
  /** The part's transfer syntax (from its Content-Type), or '' when it did not say. */
  transferSyntax: string;
}

/** The Accept header field of /frames: uncompressed, converted by the server when stored compressed; or as stored. */
const framesAccept = {
  native: `multipart/related; type="application/octet-stream"; transfer-syntax=${explicitLittle}`,
  stored: 'multipart/related; type="application/octet-stream"; transfer-syntax=*',
};

/**
 * WADO-RS frames, uncompressed (native) or as stored. The uncompressed form is asked for alone:
 * a server that prefers the stored syntax whenever the Accept header field takes it would
 * otherwise send compressed frames. A server that cannot convert answers 406, and the caller
 * asks again for the frames as stored.
 */
export async function fetchFrames(url: string, signal?: AbortSignal, partSize = 0, as: keyof typeof framesAccept = 'native'): Promise<FramePart[]> {
  return readFrames(fetch(url, { headers: { Accept: framesAccept[as] }, signal }), partSize);
}

/** The frames of a response to a WADO-RS frames request. */
export async function readFrames(response: Promise<Response>, partSize = 0): Promise<FramePart[]> {
  const resp = await check(await response, 'frames');
  const ct = resp.headers.get('Content-Type') ?? '';
  const body = new Uint8Array(await resp.arrayBuffer());
  if (!ct.toLowerCase().startsWith('multipart/')) {
    return [{ bytes: body, contentType: ct, transferSyntax: param(ct, 'transfer-syntax') }];
  }
  const boundary = param(ct, 'boundary');
  if (!boundary) throw new Error('frames: multipart response without a boundary');
  return parseMultipart(body, boundary, partSize);
}

/** A parameter of a Content-Type header field value. */
export function param(contentType: string, name: string): string {
  const re = new RegExp(`;\\s*${name}\\s*=\\s*("([^"]*)"|[^;\\s]+)`, 'i');
  const m = re.exec(contentType);
  if (!m) return '';
  return m[2] ?? m[1] ?? '';
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i >= 0 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

function at(hay: Uint8Array, needle: Uint8Array, i: number): boolean {
  if (i < 0 || i + needle.length > hay.length) return false;
  for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) return false;
  return true;
}

/**
 * Splits a multipart/related body (RFC 2046) into its parts; the bytes are views of body. When
 * the parts' size is known (partSize), the delimiter is looked for there first.
 */
export function parseMultipart(body: Uint8Array, boundary: string, partSize = 0): FramePart[] {
  const delim = enc.encode(`--${boundary}`);
  const parts: FramePart[] = [];
  let pos = indexOf(body, delim, 0);
  while (pos >= 0) {
    let start = pos + delim.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing delimiter
    // Skip to the end of the delimiter line.
    while (start < body.length && body[start] !== 0x0a) start++;
    start++;
    // Headers end at an empty line.
    let hdrEnd = start;
    let headers = '';
    for (;;) {
      let eol = hdrEnd;
      while (eol < body.length && body[eol] !== 0x0a) eol++;
      const line = dec.decode(body.subarray(hdrEnd, eol)).replace(/\r$/, '');
      hdrEnd = eol + 1;
      if (line === '' || eol >= body.length) break;
      headers += `${line}\n`;
    }
    let next = -1;
    if (partSize > 0) {
      if (at(body, delim, hdrEnd + partSize + 2) && body[hdrEnd + partSize] === 0x0d) next = hdrEnd + partSize + 2;
      else if (at(body, delim, hdrEnd + partSize + 1)) next = hdrEnd + partSize + 1;
    }
    if (next < 0) next = indexOf(body, delim, hdrEnd);
    if (next < 0) throw new Error('multipart: missing closing delimiter');
    let end = next;
    // The CRLF before a delimiter belongs to the delimiter.
    if (end > hdrEnd && body[end - 1] === 0x0a) end--;
    if (end > hdrEnd && body[end - 1] === 0x0d) end--;
    const ctLine = /^content-type:\s*(.*)$/im.exec(headers);
    const ct = ctLine?.[1]?.trim() ?? '';
    parts.push({ bytes: body.subarray(hdrEnd, end), contentType: ct, transferSyntax: param(ct, 'transfer-syntax') });
    pos = next;
  }
  return parts;
}

/** A rendered frame (PNG, windowed by the server) as an ImageBitmap. */
export async function fetchRendered(url: string, window?: { center: number; width: number }, signal?: AbortSignal): Promise<ImageBitmap> {
  const q = window ? `?window=${window.center},${window.width}` : '';
  const resp = await check(await fetch(`${url}${q}`, { headers: { Accept: 'image/png' }, signal }), 'rendered');
  return createImageBitmap(await resp.blob());
}

/** Bulk data (a BulkDataURI) as bytes. */
export async function fetchBulk(uri: string, signal?: AbortSignal): Promise<Uint8Array> {
  const resp = await check(await fetch(uri, { headers: { Accept: 'application/octet-stream' }, signal }), 'bulk data');
  return new Uint8Array(await resp.arrayBuffer());
}

/** The bytes of an OB/OW attribute: inline (base64) or fetched from its BulkDataURI. */
export async function binaryValue(ds: Dataset, tag: string, signal?: AbortSignal): Promise<Uint8Array | undefined> {
  const a = ds[tag];
  if (!a) return undefined;
  if (a.InlineBinary !== undefined) {
    const s = atob(a.InlineBinary);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  if (a.BulkDataURI) {
    // The server writes absolute URIs; keep only the path so that the request stays on this origin.
    let uri = a.BulkDataURI;
    try {
      const u = new URL(uri, location.href);
      uri = u.pathname + u.search;
    } catch {
      // relative already
    }
    return fetchBulk(uri, signal);
  }
  if (a.Value && a.Value.length) {
    // Values given as numbers (US/SS/OW as a list).
    const v = a.Value.map(x => Number(x));
    const out = new Uint16Array(v);
    return new Uint8Array(out.buffer);
  }
  return undefined;
}
