// The tests' own Part 10 reader against the corpus manifest: it must find what the manifest
// says before the DICOMweb tests trust it as their oracle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusDir, manifest } from '../lib/corpus.js';
import { DeflatedLittle, Tags, frames, parsePart10, stringValue } from '../lib/dicom.js';
import { FILES } from '../lib/files.js';

const dir = corpusDir();

test('the Part 10 reader agrees with the corpus manifest', { skip: !dir && 'corpus not found (LIGHTBOX_CORPUS)' }, () => {
  const rows = manifest(dir);
  for (const name of FILES) {
    const row = rows.get(name);
    assert.ok(row, `${name} is in the manifest`);
    const f = parsePart10(readFileSync(join(dir, name)));
    assert.equal(f.ts, row.transfer_syntax_uid, `${name}: transfer syntax`);
    if (f.ts === DeflatedLittle) continue;
    assert.equal(stringValue(f, Tags.SOPInstanceUID), row.SOPInstanceUID, `${name}: SOP Instance UID`);
    assert.equal(stringValue(f, Tags.StudyInstanceUID), row.StudyInstanceUID, `${name}: Study Instance UID`);
    assert.equal(stringValue(f, Tags.PatientID), row.PatientID, `${name}: Patient ID`);
    if (row.frames && f.elements.has(Tags.PixelData)) {
      const fr = frames(f);
      assert.equal(fr.length, Number(row.frames), `${name}: frames`);
      if (!f.elements.get(Tags.PixelData).fragments) {
        assert.equal(fr.reduce((n, x) => n + x.length, 0), Number(row.pixel_bytes), `${name}: pixel bytes`);
      }
    }
  }
});
