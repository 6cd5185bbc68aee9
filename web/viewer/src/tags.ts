// The DICOM tag browser: every attribute of an instance's metadata, sequences nested, with a
// filter. The keyword table is loaded only when the browser is first opened.

import type { Attr, Dataset } from './dicomweb';

let keywords: Map<string, string> | undefined;

async function dictionary(): Promise<Map<string, string>> {
  if (keywords) return keywords;
  const { dictionary } = await import('./dict.gen');
  const m = new Map<string, string>();
  for (const line of dictionary.split('\n')) m.set(line.slice(0, 8), line.slice(10));
  keywords = m;
  return m;
}

function valueText(a: Attr): string {
  if (a.BulkDataURI) return `(bulk data: ${a.BulkDataURI.replace(/^https?:\/\/[^/]+/, '')})`;
  if (a.InlineBinary !== undefined) return `(${Math.floor((a.InlineBinary.length * 3) / 4)} bytes)`;
  if (!a.Value) return '';
  if (a.vr === 'SQ') return `${a.Value.length} item${a.Value.length === 1 ? '' : 's'}`;
  const parts = a.Value.map(v => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'object') {
      const p = v as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
      return [p.Alphabetic, p.Ideographic, p.Phonetic].filter(Boolean).join('=');
    }
    return String(v);
  });
  const s = parts.join('\\');
  return s.length > 400 ? `${s.slice(0, 400)}… (${parts.length} values)` : s;
}

function rows(tbody: HTMLElement, ds: Dataset, dict: Map<string, string>, depth: number): void {
  for (const tag of Object.keys(ds).sort()) {
    const a = ds[tag]!;
    const tr = document.createElement('tr');
    const name = dict.get(tag) ?? (parseInt(tag.slice(0, 4), 16) % 2 === 1 ? 'private' : '');
    const cells = [`${'  '.repeat(depth)}(${tag.slice(0, 4)},${tag.slice(4)})`, name, a.vr, valueText(a)];
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.appendChild(td);
    }
    tr.dataset.depth = String(depth);
    tbody.appendChild(tr);
    if (a.vr === 'SQ' && a.Value && depth < 8) {
      a.Value.forEach((item, i) => {
        const it = document.createElement('tr');
        it.className = 'item';
        const td = document.createElement('td');
        td.colSpan = 4;
        td.textContent = `${'  '.repeat(depth + 1)}Item ${i + 1}`;
        it.appendChild(td);
        tbody.appendChild(it);
        if (item && typeof item === 'object') rows(tbody, item as Dataset, dict, depth + 1);
      });
    }
  }
}

/** Opens the tag browser for a data set in a modal dialog. */
export async function openTagBrowser(ds: Dataset, title: string): Promise<void> {
  const dict = await dictionary();
  const dlg = document.createElement('dialog');
  dlg.className = 'tags';
  const head = document.createElement('div');
  head.className = 'tags-head';
  const h = document.createElement('h2');
  h.textContent = title;
  const filter = document.createElement('input');
  filter.type = 'search';
  filter.placeholder = 'Filter by tag, keyword or value';
  const close = document.createElement('button');
  close.textContent = 'Close';
  close.addEventListener('click', () => dlg.close());
  head.append(h, filter, close);
  const table = document.createElement('table');
  table.innerHTML = '<thead><tr><th>Tag</th><th>Keyword</th><th>VR</th><th>Value</th></tr></thead>';
  const tbody = document.createElement('tbody');
  rows(tbody, ds, dict, 0);
  table.appendChild(tbody);
  const scroller = document.createElement('div');
  scroller.className = 'tags-body';
  scroller.appendChild(table);
  dlg.append(head, scroller);
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase().replace(/[(),]/g, '');
    for (const tr of Array.from(tbody.rows)) {
      tr.hidden = q !== '' && !tr.textContent!.toLowerCase().replace(/[(),]/g, '').includes(q);
    }
  });
  dlg.addEventListener('close', () => dlg.remove());
  document.body.appendChild(dlg);
  dlg.showModal();
  filter.focus();
}
