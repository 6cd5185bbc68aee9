// The study list: QIDO-RS search with the filters in the page's URL, paged and sorted by the
// server (limit, offset, orderby; the total from X-Total-Count).

import { T, type Dataset, displayName, formatDate, formatTime, search, str, strs } from './dicomweb';

interface Column {
  label: string;
  /** The attribute the server orders by, when sortable. */
  sort?: string;
  cell: (ds: Dataset) => string;
}

const columns: Column[] = [
  { label: 'Patient name', sort: 'PatientName', cell: ds => displayName(ds, T.PatientName) },
  { label: 'Patient ID', sort: 'PatientID', cell: ds => str(ds, T.PatientID) },
  { label: 'Birth date', sort: 'PatientBirthDate', cell: ds => formatDate(str(ds, T.PatientBirthDate)) },
  { label: 'Sex', cell: ds => str(ds, T.PatientSex) },
  { label: 'Study date', sort: 'StudyDate', cell: ds => [formatDate(str(ds, T.StudyDate)), formatTime(str(ds, T.StudyTime))].filter(Boolean).join(' ') },
  { label: 'Description', sort: 'StudyDescription', cell: ds => str(ds, T.StudyDescription) },
  { label: 'Modalities', cell: ds => strs(ds, T.ModalitiesInStudy).join(', ') },
  { label: 'Accession', sort: 'AccessionNumber', cell: ds => str(ds, T.AccessionNumber) },
  { label: 'Series', cell: ds => str(ds, T.NumberOfStudyRelatedSeries) },
  { label: 'Instances', cell: ds => str(ds, T.NumberOfStudyRelatedInstances) },
];

/** The filters of the form, by URL parameter. */
const filters = [
  { param: 'name', label: 'Patient name', placeholder: 'name or part of it' },
  { param: 'id', label: 'Patient ID', placeholder: 'ID or its start' },
  { param: 'accession', label: 'Accession', placeholder: 'number or its start' },
  { param: 'from', label: 'From', type: 'date' },
  { param: 'to', label: 'To', type: 'date' },
  { param: 'modality', label: 'Modality', placeholder: 'CT, MR, …' },
  { param: 'description', label: 'Description', placeholder: 'word in the description' },
] as const;

const pageSizes = [25, 50, 100];

function wildcard(v: string, contains: boolean): string {
  if (/[*?]/.test(v)) return v;
  return contains ? `*${v}*` : `${v}*`;
}

/** The QIDO-RS query of the list's URL parameters. */
export function queryOf(p: URLSearchParams): URLSearchParams {
  const q = new URLSearchParams();
  const v = (k: string) => (p.get(k) ?? '').trim();
  if (v('name')) {
    q.set('PatientName', wildcard(v('name'), true));
    q.set('fuzzymatching', 'true');
  }
  if (v('id')) q.set('PatientID', wildcard(v('id'), false));
  if (v('accession')) q.set('AccessionNumber', wildcard(v('accession'), false));
  const from = v('from').replace(/-/g, '');
  const to = v('to').replace(/-/g, '');
  if (from || to) q.set('StudyDate', from === to ? from : `${from}-${to}`);
  if (v('modality')) q.set('ModalitiesInStudy', v('modality').toUpperCase());
  if (v('description')) q.set('StudyDescription', wildcard(v('description'), true));
  const size = pageSizes.includes(Number(v('size'))) ? Number(v('size')) : pageSizes[0]!;
  const page = Math.max(1, Math.floor(Number(v('page')) || 1));
  q.set('limit', String(size));
  q.set('offset', String((page - 1) * size));
  const sort = v('sort') || '-StudyDate';
  q.set('orderby', sort);
  q.append('includefield', 'StudyDescription');
  return q;
}

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export function studyList(root: HTMLElement): void {
  document.title = 'Studies — Lightbox';
  root.className = 'list-page';
  const header = h('header', { class: 'topbar' });
  header.append(h('span', { class: 'brand' }, 'Lightbox'), h('span', { class: 'where' }, 'Studies'));
  const form = h('form', { class: 'filters', role: 'search' });
  const params = new URLSearchParams(location.search);
  for (const f of filters) {
    const label = h('label');
    label.append(h('span', {}, f.label));
    const input = h('input', { name: f.param, type: 'type' in f ? f.type : 'search', placeholder: 'placeholder' in f ? f.placeholder : '' });
    input.value = params.get(f.param) ?? '';
    label.append(input);
    form.append(label);
  }
  const buttons = h('div', { class: 'buttons' });
  const go = h('button', { type: 'submit' }, 'Search');
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Clear');
  buttons.append(go, clear);
  form.append(buttons);
  const status = h('div', { class: 'status', 'aria-live': 'polite' });
  const table = h('table', { class: 'studies' });
  const thead = h('thead');
  const tbody = h('tbody');
  table.append(thead, tbody);
  const pager = h('nav', { class: 'pager' });
  const main = h('main', { class: 'list' });
  main.append(form, status, table, pager);
  root.replaceChildren(header, main);

  let inflight: AbortController | undefined;

  const navigate = (p: URLSearchParams, replace = false) => {
    const url = `${location.pathname}${p.toString() ? `?${p}` : ''}`;
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    load();
  };

  form.addEventListener('submit', e => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const f of filters) {
      const v = (form.elements.namedItem(f.param) as HTMLInputElement).value.trim();
      if (v) p.set(f.param, v);
    }
    const cur = new URLSearchParams(location.search);
    for (const k of ['sort', 'size']) if (cur.get(k)) p.set(k, cur.get(k)!);
    navigate(p);
  });
  clear.addEventListener('click', () => {
    for (const f of filters) (form.elements.namedItem(f.param) as HTMLInputElement).value = '';
    navigate(new URLSearchParams());
  });
  window.addEventListener('popstate', () => {
    const p = new URLSearchParams(location.search);
    for (const f of filters) (form.elements.namedItem(f.param) as HTMLInputElement).value = p.get(f.param) ?? '';
    load();
  });

  function renderHead(sort: string) {
    const tr = h('tr');
    for (const c of columns) {
      const th = h('th', { scope: 'col' });
      if (c.sort) {
        const active = sort === c.sort || sort === `-${c.sort}`;
        const desc = sort === `-${c.sort}`;
        const b = h('button', { type: 'button', class: `sort${active ? ' active' : ''}`, 'data-sort': c.sort }, `${c.label}${active ? (desc ? ' ▼' : ' ▲') : ''}`);
        th.setAttribute('aria-sort', active ? (desc ? 'descending' : 'ascending') : 'none');
        b.addEventListener('click', () => {
          const p = new URLSearchParams(location.search);
          p.set('sort', active && !desc ? `-${c.sort}` : c.sort!);
          p.delete('page');
          navigate(p);
        });
        th.append(b);
      } else {
        th.textContent = c.label;
      }
      tr.append(th);
    }
    thead.replaceChildren(tr);
  }

  async function load() {
    inflight?.abort();
    const ctl = new AbortController();
    inflight = ctl;
    const p = new URLSearchParams(location.search);
    const q = queryOf(p);
    const size = Number(q.get('limit'));
    const offset = Number(q.get('offset'));
    renderHead(q.get('orderby')!);
    status.textContent = 'Searching…';
    root.dataset.state = 'loading';
    try {
      const res = await search('/studies', q, ctl.signal);
      if (ctl.signal.aborted) return;
      tbody.replaceChildren();
      for (const ds of res.items) {
        const uid = str(ds, T.StudyInstanceUID);
        const href = `/viewer?StudyInstanceUIDs=${encodeURIComponent(uid)}`;
        const tr = h('tr', { 'data-study': uid, tabindex: '0' });
        columns.forEach((c, i) => {
          const td = h('td');
          if (i === 0) td.append(h('a', { href }, c.cell(ds) || '(no name)'));
          else td.textContent = c.cell(ds);
          tr.append(td);
        });
        tr.addEventListener('click', e => {
          if ((e.target as HTMLElement).closest('a')) return;
          location.href = href;
        });
        tr.addEventListener('keydown', e => {
          if (e.key === 'Enter') location.href = href;
        });
        tbody.append(tr);
      }
      const total = res.total >= 0 ? res.total : offset + res.items.length;
      status.textContent = total === 0 ? 'No study matches.' : `Studies ${offset + 1}–${offset + res.items.length} of ${total}`;
      status.dataset.total = String(total);
      renderPager(total, size, offset);
      root.dataset.state = 'ready';
    } catch (err) {
      if (ctl.signal.aborted) return;
      tbody.replaceChildren();
      status.textContent = `Search failed: ${err instanceof Error ? err.message : String(err)}`;
      root.dataset.state = 'error';
    }
  }

  function renderPager(total: number, size: number, offset: number) {
    pager.replaceChildren();
    const page = Math.floor(offset / size) + 1;
    const pages = Math.max(1, Math.ceil(total / size));
    const go = (n: number) => {
      const p = new URLSearchParams(location.search);
      if (n > 1) p.set('page', String(n));
      else p.delete('page');
      navigate(p);
    };
    const prev = h('button', { type: 'button' }, '‹ Previous');
    prev.disabled = page <= 1;
    prev.addEventListener('click', () => go(page - 1));
    const next = h('button', { type: 'button' }, 'Next ›');
    next.disabled = page >= pages;
    next.addEventListener('click', () => go(page + 1));
    const sel = h('select', { 'aria-label': 'Studies per page' });
    for (const s of pageSizes) {
      const o = h('option', { value: String(s) }, `${s} per page`);
      o.selected = s === size;
      sel.append(o);
    }
    sel.addEventListener('change', () => {
      const p = new URLSearchParams(location.search);
      p.set('size', sel.value);
      p.delete('page');
      navigate(p);
    });
    pager.append(prev, h('span', {}, `Page ${page} of ${pages}`), next, sel);
  }

  load();
}
