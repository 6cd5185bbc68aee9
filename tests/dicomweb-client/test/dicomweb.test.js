// Lightbox's DICOMweb service driven by the dicomweb-client library, as viewers use it: STOW-RS
// of corpus files, QIDO-RS searches checked against the corpus manifest, and WADO-RS retrieves
// (instances, metadata, frames, bulk data) checked byte for byte against the files.
//
// LIGHTBOX_DICOMWEB is the service root (http://127.0.0.1:PORT/dicom-web) of a server with an
// empty archive; LIGHTBOX_CORPUS the corpus directory. Without them the tests are skipped.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dicomweb from 'dicomweb-client';
import { install, XMLHttpRequest } from '../lib/xhr.js';
import { corpusDir, manifest } from '../lib/corpus.js';
import { DeflatedLittle, Tags, concat, frames, hex8, parsePart10, value } from '../lib/dicom.js';
import { EMRI_BE, FILES, JLS, LIVER, PDF, YBR } from '../lib/files.js';

install();
const { DICOMwebClient } = dicomweb.api;
const base = process.env.LIGHTBOX_DICOMWEB;
const dir = corpusDir();
const skip = (!base && 'LIGHTBOX_DICOMWEB is not set (the Go test integration/dicomweb_test.go sets it)') ||
  (!dir && 'corpus not found (LIGHTBOX_CORPUS)');

let client;
const files = new Map(); // name → { row, bytes, part10 }
const bySOP = new Map();

before(() => {
  if (skip) return;
  client = new DICOMwebClient({ url: base, verbose: false });
  const rows = manifest(dir);
  for (const name of FILES) {
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    const f = { name, row: rows.get(name), bytes, part10: parsePart10(bytes) };
    files.set(name, f);
    bySOP.set(f.row.SOPInstanceUID, f);
  }
});

const ids = (f) => ({
  studyInstanceUID: f.row.StudyInstanceUID,
  seriesInstanceUID: f.row.SeriesInstanceUID,
  sopInstanceUID: f.row.SOPInstanceUID,
});
// first returns the first value of attribute tag (eight hex digits) of a DICOM JSON object.
const first = (obj, tag) => obj?.[tag]?.Value?.[0];
const bytesOf = (b) => (b instanceof Uint8Array ? b : new Uint8Array(b));
const equalBytes = (a, b) => Buffer.compare(Buffer.from(bytesOf(a)), Buffer.from(bytesOf(b))) === 0;
const distinct = (xs) => [...new Set(xs)];
// withXHR runs a client call with a request object of its own, to read the response's status and
// header fields (X-Total-Count) that the library does not return.
async function withXHR(call) {
  const xhr = new XMLHttpRequest();
  const result = await call({ instance: xhr });
  return { result, xhr };
}

test('STOW-RS: storeInstances of corpus files in many transfer syntaxes', { skip }, async () => {
  const all = [...files.values()];
  // Two requests: a batch, then the rest.
  for (const batch of [all.slice(0, 6), all.slice(6)]) {
    const { result, xhr } = await withXHR((request) =>
      client.storeInstances({ datasets: batch.map((f) => f.bytes.buffer.slice(f.bytes.byteOffset, f.bytes.byteOffset + f.bytes.length)), request }),
    );
    assert.equal(xhr.status, 200, `STOW-RS status (response: ${xhr.responseText})`);
    const res = JSON.parse(result);
    assert.equal(res['00081198'], undefined, `no Failed SOP Sequence: ${xhr.responseText}`);
    const refs = res['00081199']?.Value ?? [];
    assert.deepEqual(refs.map((r) => first(r, '00081155')).sort(), batch.map((f) => f.row.SOPInstanceUID).sort());
    for (const r of refs) {
      const f = bySOP.get(first(r, '00081155'));
      assert.equal(first(r, '00081150'), f.row.sop_class_uid, `${f.name}: Referenced SOP Class UID`);
      assert.match(first(r, '00081190'), new RegExp(`/studies/${f.row.StudyInstanceUID}/series/${f.row.SeriesInstanceUID}/instances/${f.row.SOPInstanceUID}$`));
    }
  }
});

test('QIDO-RS: searchForStudies lists every study with the manifest values', { skip }, async () => {
  const { result: studies, xhr } = await withXHR((request) => client.searchForStudies({ request }));
  const want = distinct([...files.values()].map((f) => f.row.StudyInstanceUID));
  assert.deepEqual(studies.map((s) => first(s, '0020000D')).sort(), want.sort());
  assert.equal(xhr.getResponseHeader('X-Total-Count'), String(want.length));
  for (const s of studies) {
    const uid = first(s, '0020000D');
    const members = [...files.values()].filter((f) => f.row.StudyInstanceUID === uid);
    assert.equal(first(s, '00201208'), members.length, `study ${uid}: NumberOfStudyRelatedInstances`);
    const pid = members[0].row.PatientID;
    if (pid) assert.equal(first(s, '00100020'), pid, `study ${uid}: PatientID`);
    assert.match(first(s, '00081190'), new RegExp(`/studies/${uid}$`), 'RetrieveURL');
  }
});

test('QIDO-RS: matching on PatientID, wildcards, UIDs, and nested searches', { skip }, async () => {
  const rows = [...files.values()].map((f) => f.row);
  for (const pid of ['4MR1', '99000', 'H31EXAMPLE']) {
    const studies = await client.searchForStudies({ queryParams: { PatientID: pid } });
    const want = distinct(rows.filter((r) => r.PatientID === pid).map((r) => r.StudyInstanceUID));
    assert.ok(want.length > 0);
    assert.deepEqual(studies.map((s) => first(s, '0020000D')).sort(), want.sort(), `PatientID=${pid}`);
  }
  // Wildcard matching (PS3.4 C.2.2.2.4): "*" and "?".
  for (const pattern of ['1*', '?MR1', '*XAMPL*']) {
    const re = new RegExp('^' + pattern.replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
    const instances = await client.searchForInstances({ queryParams: { PatientID: pattern } });
    const want = rows.filter((r) => re.test(r.PatientID)).map((r) => r.SOPInstanceUID);
    assert.ok(want.length > 0);
    assert.deepEqual(instances.map((i) => first(i, '00080018')).sort(), want.sort(), `PatientID=${pattern}`);
  }
  // No match: 204, which the library answers with [].
  assert.deepEqual(await client.searchForStudies({ queryParams: { PatientID: 'NOBODY-AT-ALL' } }), []);
  // Series of each study, instances of each series, with NumberOfFrames.
  for (const study of distinct(rows.map((r) => r.StudyInstanceUID))) {
    const series = await client.searchForSeries({ studyInstanceUID: study });
    const wantSeries = distinct(rows.filter((r) => r.StudyInstanceUID === study).map((r) => r.SeriesInstanceUID));
    assert.deepEqual(series.map((s) => first(s, '0020000E')).sort(), wantSeries.sort(), `series of ${study}`);
    for (const s of wantSeries) {
      const instances = await client.searchForInstances({ studyInstanceUID: study, seriesInstanceUID: s });
      const want = rows.filter((r) => r.SeriesInstanceUID === s);
      assert.deepEqual(instances.map((i) => first(i, '00080018')).sort(), want.map((r) => r.SOPInstanceUID).sort(), `instances of ${s}`);
      for (const i of instances) {
        const r = bySOP.get(first(i, '00080018')).row;
        assert.equal(first(i, '00080016'), r.sop_class_uid, `${r.file}: SOPClassUID`);
        if (r.NumberOfFrames) assert.equal(first(i, '00280008'), Number(r.NumberOfFrames), `${r.file}: NumberOfFrames`);
        else assert.equal(first(i, '00280008'), undefined, `${r.file}: no NumberOfFrames`);
      }
    }
  }
  // A single instance by its UID, study-scoped.
  const f = files.get(LIVER);
  const one = await client.searchForInstances({ studyInstanceUID: f.row.StudyInstanceUID, queryParams: { SOPInstanceUID: f.row.SOPInstanceUID, includefield: '00100020' } });
  assert.equal(one.length, 1);
  assert.equal(first(one[0], '00280008'), 3);
  assert.equal(first(one[0], '00100020'), f.row.PatientID);
});

test('QIDO-RS: limit and offset page through every instance once', { skip }, async () => {
  const want = [...bySOP.keys()].sort();
  const seen = [];
  for (let offset = 0; offset < want.length + 4; offset += 4) {
    const { result: page, xhr } = await withXHR((request) => client.searchForInstances({ queryParams: { limit: 4, offset }, request }));
    assert.ok(page.length <= 4, `page at ${offset} has ${page.length} results`);
    if (offset < want.length) assert.equal(page.length, Math.min(4, want.length - offset), `page at ${offset}`);
    if (page.length > 0) assert.equal(xhr.getResponseHeader('X-Total-Count'), String(want.length));
    seen.push(...page.map((i) => first(i, '00080018')));
  }
  assert.deepEqual([...seen].sort(), want, 'pages cover every instance once');
});

test('WADO-RS: retrieveInstance returns each data set as stored', { skip }, async () => {
  let whole = 0;
  for (const f of files.values()) {
    const got = bytesOf(await client.retrieveInstance(ids(f)));
    const p = parsePart10(got);
    assert.equal(p.ts, f.part10.ts, `${f.name}: transfer syntax`);
    assert.ok(equalBytes(p.dataset, f.part10.dataset), `${f.name}: data set differs (${p.dataset.length} bytes, want ${f.part10.dataset.length})`);
    if (equalBytes(got, f.bytes)) whole++;
  }
  console.log(`# retrieveInstance: ${files.size} data sets identical (${whole} whole files identical, File Meta included)`);
  // A study with several instances, and one series.
  const f = files.get(YBR);
  const study = await client.retrieveStudy({ studyInstanceUID: f.row.StudyInstanceUID });
  const members = [...files.values()].filter((x) => x.row.StudyInstanceUID === f.row.StudyInstanceUID);
  assert.equal(study.length, members.length);
});

test('WADO-RS: retrieveInstanceMetadata has the manifest values and the transfer syntax', { skip }, async () => {
  for (const f of files.values()) {
    const md = await client.retrieveInstanceMetadata(ids(f));
    assert.equal(md.length, 1);
    const m = md[0];
    const r = f.row;
    assert.equal(first(m, '00080018'), r.SOPInstanceUID, `${f.name}: SOPInstanceUID`);
    assert.equal(first(m, '0020000D'), r.StudyInstanceUID, `${f.name}: StudyInstanceUID`);
    assert.equal(first(m, '0020000E'), r.SeriesInstanceUID, `${f.name}: SeriesInstanceUID`);
    assert.equal(first(m, '00080016'), r.sop_class_uid, `${f.name}: SOPClassUID`);
    if (r.PatientID) assert.equal(first(m, '00100020'), r.PatientID, `${f.name}: PatientID`);
    if (r.NumberOfFrames) assert.equal(first(m, '00280008'), Number(r.NumberOfFrames), `${f.name}: NumberOfFrames`);
    if (r.rows) assert.equal(first(m, '00280010'), Number(r.rows), `${f.name}: Rows`);
    assert.equal(first(m, '00083002'), r.transfer_syntax_uid, `${f.name}: AvailableTransferSyntaxUID`);
    if (f.part10.ts !== DeflatedLittle && f.part10.elements.has(Tags.PixelData)) {
      assert.match(m['7FE00010']?.BulkDataURI ?? '', /\/bulkdata\/7FE00010$/, `${f.name}: PixelData BulkDataURI`);
    }
  }
});

test('WADO-RS: retrieveInstanceFrames gives the frames as the files hold them', { skip }, async () => {
  // Native 1-bit frames (application/octet-stream, the library's default).
  const liver = files.get(LIVER);
  const want = frames(liver.part10);
  assert.equal(want.length, 3);
  let got = await client.retrieveInstanceFrames({ ...ids(liver), frameNumbers: '1,2,3' });
  assert.equal(got.length, 3);
  got.forEach((g, i) => assert.ok(equalBytes(g, want[i]), `liver frame ${i + 1}: ${g.byteLength} bytes, want ${want[i].length}`));
  got = await client.retrieveInstanceFrames({ ...ids(liver), frameNumbers: '2' });
  assert.ok(equalBytes(got[0], want[1]), 'liver frame 2 alone');

  // Native big endian 16-bit frames are sent little endian (PS3.18 8.7.3.5.2 for octet-stream).
  const emri = files.get(EMRI_BE);
  const emriFrames = frames(emri.part10);
  got = await client.retrieveInstanceFrames({ ...ids(emri), frameNumbers: '1,10' });
  assert.equal(got.length, 2);
  assert.ok(equalBytes(got[0], emriFrames[0]) && equalBytes(got[1], emriFrames[9]), 'emri frames 1 and 10 swapped to little endian');

  // JPEG baseline frames as image/jpeg in their transfer syntax.
  const ybr = files.get(YBR);
  const ybrFrames = frames(ybr.part10);
  const jpeg = [{ mediaType: 'image/jpeg', transferSyntaxUID: ybr.part10.ts }];
  got = await client.retrieveInstanceFrames({ ...ids(ybr), frameNumbers: '1,15,30', mediaTypes: jpeg });
  assert.equal(got.length, 3);
  [0, 14, 29].forEach((k, i) => assert.ok(equalBytes(got[i], ybrFrames[k]), `ybr frame ${k + 1}`));
  assert.equal(got[0].transferSyntaxUID, ybr.part10.ts, 'part transfer-syntax parameter');
  // Asked for uncompressed (application/octet-stream), they are decoded: 320×240 RGB of 8 bits.
  got = await client.retrieveInstanceFrames({ ...ids(ybr), frameNumbers: '1' });
  assert.equal(got.length, 1);
  assert.equal(got[0].byteLength, 320 * 240 * 3, 'decoded frame size');

  // JPEG-LS frames (one fragment each, after a Basic Offset Table).
  const jls = files.get(JLS);
  const jlsFrames = frames(jls.part10);
  got = await client.retrieveInstanceFrames({ ...ids(jls), frameNumbers: '2,1', mediaTypes: [{ mediaType: 'image/jls', transferSyntaxUID: jls.part10.ts }] });
  assert.ok(equalBytes(got[0], jlsFrames[1]) && equalBytes(got[1], jlsFrames[0]), 'JPEG-LS frames 2,1');

  // A frame past the last: 404.
  await assert.rejects(client.retrieveInstanceFrames({ ...ids(liver), frameNumbers: '4' }), (e) => e.status === 404);
});

test('WADO-RS: retrieveBulkData through the BulkDataURI of the metadata', { skip }, async () => {
  const single = new DICOMwebClient({ url: base, verbose: false, singlepart: 'bulkdata' });
  const cases = [
    [LIVER, Tags.PixelData, (f) => value(f.part10, Tags.PixelData)],
    [EMRI_BE, Tags.PixelData, (f) => concat(frames(f.part10))],
    [PDF, Tags.EncapsulatedDocument, (f) => value(f.part10, Tags.EncapsulatedDocument)],
    // Encapsulated pixel data: the fragments' bytes, concatenated (frames as stored).
    [YBR, Tags.PixelData, (f) => concat(frames(f.part10))],
  ];
  for (const [name, tag, expected] of cases) {
    const f = files.get(name);
    const md = (await client.retrieveInstanceMetadata(ids(f)))[0];
    const uri = md[hex8(tag)]?.BulkDataURI;
    assert.ok(uri, `${name}: ${hex8(tag)} has a BulkDataURI`);
    const want = expected(f);
    const multi = await client.retrieveBulkData({ BulkDataURI: uri });
    assert.equal(multi.length, 1, `${name}: one part`);
    assert.ok(equalBytes(multi[0], want), `${name}: multipart bulk data ${hex8(tag)}: ${multi[0].byteLength} bytes, want ${want.length}`);
    const one = await single.retrieveBulkData({ BulkDataURI: uri });
    assert.ok(equalBytes(one[0], want), `${name}: single-part bulk data ${hex8(tag)}`);
  }
  // A byte range of the pixel data (single part, HTTP Range).
  const liver = files.get(LIVER);
  const md = (await client.retrieveInstanceMetadata(ids(liver)))[0];
  const part = await single.retrieveBulkData({ BulkDataURI: md['7FE00010'].BulkDataURI, headers: { Range: 'bytes=100-199' } });
  assert.ok(equalBytes(part[0], value(liver.part10, Tags.PixelData).subarray(100, 200)), 'byte range 100-199');
});
