// The shared test corpus: its directory (LIGHTBOX_CORPUS, or ../shared/corpus beside the
// repository) and MANIFEST.tsv's rows by file name.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function corpusDir() {
  if (process.env.LIGHTBOX_CORPUS) return process.env.LIGHTBOX_CORPUS;
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const d = join(repo, '..', 'shared', 'corpus');
  return existsSync(join(d, 'MANIFEST.tsv')) ? d : null;
}

export function manifest(dir) {
  const lines = readFileSync(join(dir, 'MANIFEST.tsv'), 'utf8').split('\n').filter(Boolean);
  const header = lines[0].split('\t');
  const rows = new Map();
  for (const line of lines.slice(1)) {
    const cols = line.split('\t');
    const r = {};
    header.forEach((h, i) => {
      r[h] = cols[i] ?? '';
    });
    rows.set(r.file, r);
  }
  return rows;
}
