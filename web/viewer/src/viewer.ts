// The viewer page: /viewer?StudyInstanceUIDs=UID[,UID…]. Series thumbnails on the left, one, two
// or four viewports, the toolbar, keyboard shortcuts, and documents (SR, PDF) in place of images.

import { T, type Dataset, displayName, formatDate, num, search, str, takeEarly } from './dicomweb';
import { otherDocument, pdfDocument, structuredReport } from './documents';
import { perFrame } from './frame';
import type { Voi } from './image';
import { type Probe, probeStudy, Series } from './series';
import { openTagBrowser } from './tags';
import { type Tool, Viewport } from './viewport';

/** Window presets for CT, in Hounsfield units (keys 1 to 5; 0 is the data set's window). */
export const presets: { key: string; name: string; width: number; center: number }[] = [
  { key: '1', name: 'Soft tissue', width: 400, center: 40 },
  { key: '2', name: 'Lung', width: 1500, center: -600 },
  { key: '3', name: 'Liver', width: 150, center: 90 },
  { key: '4', name: 'Bone', width: 2500, center: 480 },
  { key: '5', name: 'Brain', width: 80, center: 40 },
];

const tools: { tool: Tool; label: string; key: string; title: string }[] = [
  { tool: 'wl', label: 'W/L', key: 'w', title: 'Window/level: drag (W)' },
  { tool: 'pan', label: 'Pan', key: 'p', title: 'Pan: drag (P; middle button at any time)' },
  { tool: 'zoom', label: 'Zoom', key: 'z', title: 'Zoom: drag up and down (Z; right button at any time; Ctrl+wheel)' },
  { tool: 'length', label: 'Length', key: 'l', title: 'Length in mm (L)' },
  { tool: 'angle', label: 'Angle', key: 'a', title: 'Angle: drag the first arm, click the end of the second (A)' },
  { tool: 'ellipse', label: 'Ellipse', key: 'e', title: 'Elliptical ROI: mean, SD, area (E)' },
  { tool: 'rect', label: 'Rect', key: 'r', title: 'Rectangular ROI: mean, SD, area (R)' },
];

export const shortcuts: [string, string][] = [
  ['↑ ↓ ← →, wheel', 'previous / next image'],
  ['Page Up / Page Down', '10 images back / on'],
  ['Home / End', 'first / last image'],
  ['W P Z', 'window/level, pan, zoom tool'],
  ['L A E R', 'length, angle, ellipse, rectangle'],
  ['0', "the data set's window"],
  ...presets.map(p => [p.key, `${p.name} (W ${p.width} L ${p.center})`] as [string, string]),
  ['I', 'invert'],
  ['H / V', 'flip horizontally / vertically'],
  ['[ / ]', 'rotate left / right'],
  ['F / =', 'fit / one image pixel per screen pixel'],
  ['Space, double-click', 'reset the view'],
  ['C', 'cine play / pause'],
  ['T', 'tag browser'],
  ['Delete', 'remove the last measurement'],
  ['Esc', 'cancel a measurement, close a dialog'],
  ['Tab', 'next viewport'],
  ['?', 'this help'],
];

const layouts = [
  { id: '1x1', label: '1×1', n: 1 },
  { id: '1x2', label: '1×2', n: 2 },
  { id: '2x2', label: '2×2', n: 4 },
];

interface SeriesEntry {
  study: string;
  uid: string;
  ds: Dataset;
  modality: string;
  button: HTMLButtonElement;
  bar: HTMLDivElement;
  series?: Promise<Series>;
}

const nonImageModalities = new Set(['SR', 'DOC', 'PR', 'KO', 'RTPLAN', 'RTSTRUCT', 'RTRECORD', 'ECG', 'HD', 'REG', 'FID', 'SEG', 'PLAN', 'AU']);

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export class ViewerApp {
  private readonly viewports: Viewport[] = [];
  private active!: Viewport;
  private tool: Tool = 'wl';
  private layout = '1x1';
  private readonly grid = h('main', { class: 'grid layout-1x1' });
  private readonly side = h('aside', { class: 'series-list', 'aria-label': 'Series' });
  private readonly toolbar = h('div', { class: 'toolbar', role: 'toolbar' });
  private readonly info = h('div', { class: 'study-info' });
  private readonly entries: SeriesEntry[] = [];
  private readonly toolButtons = new Map<Tool, HTMLButtonElement>();
  private readonly layoutButtons = new Map<string, HTMLButtonElement>();
  private presetSelect!: HTMLSelectElement;
  private cineButton!: HTMLButtonElement;
  private fpsInput!: HTMLInputElement;
  private readonly t0 = performance.now();
  firstImage = 0;
  private resolveFirst!: () => void;
  private readonly firstDrawn = new Promise<void>(r => (this.resolveFirst = r));
  /** The probe of the first study (see probeStudy), used once by the series it found. */
  private probe?: Promise<Probe | undefined>;

  constructor(
    private readonly root: HTMLElement,
    private readonly studies: string[],
  ) {}

  async start(): Promise<void> {
    document.title = 'Viewer — Lightbox';
    this.root.className = 'viewer-page';
    const header = h('header', { class: 'topbar' });
    const back = h('a', { class: 'brand', href: '/', title: 'Back to the study list' }, 'Lightbox');
    header.append(back, this.info, this.toolbar);
    const body = h('div', { class: 'body' });
    body.append(this.side, this.grid);
    this.root.replaceChildren(header, body);
    this.buildToolbar();
    this.setLayout(new URLSearchParams(location.search).get('layout') ?? '1x1');
    document.addEventListener('keydown', e => this.key(e));
    this.expose();
    if (!this.studies.length) {
      this.active.showDocument(h('p', { class: 'doc-meta' }, 'No study given: open one from the study list.'));
      return;
    }
    try {
      await this.loadSeriesList();
    } catch (err) {
      this.active.showDocument(h('p', { class: 'doc-meta error' }, `Cannot open the study: ${err instanceof Error ? err.message : String(err)}`));
      this.root.dataset.state = 'error';
    }
  }

  private buildToolbar(): void {
    const tb = this.toolbar;
    const group = (label: string) => {
      const g = h('div', { class: 'group', role: 'group', 'aria-label': label });
      tb.append(g);
      return g;
    };
    const button = (g: HTMLElement, label: string, title: string, fn: () => void, data?: string) => {
      const b = h('button', { type: 'button', title }, label);
      if (data) b.dataset.action = data;
      b.addEventListener('click', () => {
        fn();
        this.active.el.focus({ preventScroll: true });
      });
      g.append(b);
      return b;
    };
    const g1 = group('Tools');
    for (const t of tools) {
      const b = button(g1, t.label, t.title, () => this.setTool(t.tool), `tool-${t.tool}`);
      this.toolButtons.set(t.tool, b);
    }
    const g2 = group('Window');
    this.presetSelect = h('select', { title: 'Window presets (0–5)', 'data-action': 'preset' });
    this.presetSelect.append(h('option', { value: '' }, 'Window…'), h('option', { value: '0' }, 'Default (0)'));
    for (const p of presets) this.presetSelect.append(h('option', { value: p.key }, `${p.name} (${p.key})`));
    this.presetSelect.addEventListener('change', () => {
      this.applyPreset(this.presetSelect.value);
      this.presetSelect.value = '';
    });
    g2.append(this.presetSelect);
    button(g2, 'Invert', 'Invert (I)', () => this.active.toggleInvert(), 'invert');
    const g3 = group('View');
    button(g3, '⟲', 'Rotate left ([)', () => this.active.rotate(-1), 'rotate-left');
    button(g3, '⟳', 'Rotate right (])', () => this.active.rotate(1), 'rotate-right');
    button(g3, '⇆', 'Flip horizontally (H)', () => this.active.flip(true), 'flip-h');
    button(g3, '⇅', 'Flip vertically (V)', () => this.active.flip(false), 'flip-v');
    button(g3, 'Fit', 'Fit to the viewport (F)', () => this.active.fitToWindow(), 'fit');
    button(g3, '1:1', 'One image pixel per screen pixel (=)', () => this.active.actualSize(), 'actual');
    button(g3, 'Reset', 'Reset the view (Space)', () => this.active.reset(), 'reset');
    const g4 = group('Cine');
    this.cineButton = button(g4, '▶', 'Cine play/pause (C)', () => this.toggleCine(), 'cine');
    this.fpsInput = h('input', { type: 'number', min: '1', max: '120', value: '15', title: 'Frames per second', 'data-action': 'fps' });
    this.fpsInput.addEventListener('change', () => {
      const fps = Math.max(1, Math.min(120, Number(this.fpsInput.value) || 15));
      this.fpsInput.value = String(fps);
      if (this.active.playing()) this.active.play(fps);
    });
    g4.append(this.fpsInput, h('span', { class: 'unit' }, 'fps'));
    const g5 = group('Layout');
    for (const l of layouts) this.layoutButtons.set(l.id, button(g5, l.label, `Layout ${l.label}`, () => this.setLayout(l.id), `layout-${l.id}`));
    const g6 = group('More');
    button(g6, 'Tags', 'DICOM tag browser (T)', () => this.openTags(), 'tags');
    button(g6, 'Clear', 'Remove the measurements', () => this.active.clearMeasurements(), 'clear');
    button(g6, '?', 'Keyboard shortcuts (?)', () => this.help(), 'help');
    this.setTool('wl');
  }

  private setTool(t: Tool): void {
    this.tool = t;
    for (const [k, b] of this.toolButtons) b.classList.toggle('active', k === t);
    this.active?.cancelDrawing();
    this.grid.dataset.tool = t;
  }

  private setLayout(id: string): void {
    const l = layouts.find(x => x.id === id) ?? layouts[0]!;
    this.layout = l.id;
    const host = {
      tool: () => this.tool,
      activate: (v: Viewport) => this.activate(v),
      changed: (v: Viewport) => this.changed(v),
      firstDraw: () => {
        if (!this.firstImage) this.markFirst();
      },
    };
    while (this.viewports.length < l.n) {
      const v = new Viewport(host);
      v.el.addEventListener('dragover', e => e.preventDefault());
      v.el.addEventListener('drop', e => {
        e.preventDefault();
        const uid = e.dataTransfer?.getData('text/x-series') ?? '';
        const entry = this.entries.find(x => x.uid === uid);
        if (entry) void this.show(v, entry);
      });
      this.viewports.push(v);
    }
    this.grid.className = `grid layout-${l.id}`;
    this.grid.replaceChildren(...this.viewports.slice(0, l.n).map(v => v.el));
    for (const [k, b] of this.layoutButtons) b.classList.toggle('active', k === l.id);
    if (!this.active || this.viewports.indexOf(this.active) >= l.n) this.activate(this.viewports[0]!);
    // Fill new viewports with the series that follow.
    if (this.entries.length) {
      this.viewports.slice(0, l.n).forEach((v, i) => {
        if (!v.series) {
          const e = this.entries[Math.min(i, this.entries.length - 1)];
          if (e) void this.show(v, e);
        }
      });
    }
    const p = new URLSearchParams(location.search);
    if (l.id === '1x1') p.delete('layout');
    else p.set('layout', l.id);
    history.replaceState(null, '', `${location.pathname}?${p}`);
  }

  private activate(v: Viewport): void {
    if (this.active === v) return;
    this.active?.el.classList.remove('active');
    this.active = v;
    v.el.classList.add('active');
    this.changed(v);
  }

  private changed(v: Viewport): void {
    if (v !== this.active) return;
    this.cineButton.textContent = v.playing() ? '❚❚' : '▶';
    this.cineButton.classList.toggle('active', v.playing());
    for (const e of this.entries) e.button.classList.toggle('active', e.uid === v.series?.uid);
  }

  private async loadSeriesList(): Promise<void> {
    const all: SeriesEntry[] = [];
    // The first instance of the first study, its first frame and its series' metadata are asked
    // for at the same time as the series list, so that the first image needs two round trips.
    const early = takeEarly(this.studies[0]!);
    this.probe = probeStudy(this.studies[0]!, early?.probe).catch(() => undefined);
    const results = await Promise.all(
      this.studies.map((s, i) => search(`/studies/${s}/series`, new URLSearchParams({ includefield: 'StudyDescription' }), undefined, i === 0 ? early?.series : undefined)),
    );
    results.forEach((r, i) => {
      const sorted = [...r.items].sort((a, b) => num(a, T.SeriesNumber, 1e9) - num(b, T.SeriesNumber, 1e9));
      for (const ds of sorted) {
        const entry: SeriesEntry = {
          study: this.studies[i]!,
          uid: str(ds, T.SeriesInstanceUID),
          ds,
          modality: str(ds, T.Modality),
          button: h('button', { type: 'button', class: 'thumb', draggable: 'true' }),
          bar: h('div', { class: 'bar' }),
        };
        all.push(entry);
      }
    });
    if (!all.length) throw new Error('no series found');
    // Images first, documents after.
    all.sort((a, b) => Number(nonImageModalities.has(a.modality)) - Number(nonImageModalities.has(b.modality)));
    this.entries.push(...all);
    this.info.textContent = '';
    const first = all[0]!;
    const starts = this.viewports.slice(0, layouts.find(l => l.id === this.layout)!.n);
    const shown = starts.map((v, i) => this.show(v, all[Math.min(i, all.length - 1)]!));
    // The series list with thumbnails once the first image is on its way.
    this.renderSide();
    // Thumbnails are rendered by the server: ask for them once the first image is drawn, so
    // that they do not compete with it.
    await Promise.race([this.firstDrawn, shown[0]?.then(() => this.firstDrawn), new Promise(r => setTimeout(r, 3000))]);
    for (const e of this.entries) this.thumb(e);
    const ds = first.ds;
    const who = [displayName(ds, T.PatientName), str(ds, T.PatientID) && `ID ${str(ds, T.PatientID)}`].filter(Boolean).join(' · ');
    const what = [str(ds, T.StudyDescription), formatDate(str(ds, T.StudyDate))].filter(Boolean).join(' · ');
    this.info.replaceChildren(h('span', { class: 'who' }, who), h('span', { class: 'what' }, what));
  }

  private renderSide(): void {
    this.side.replaceChildren();
    for (const e of this.entries) {
      const b = e.button;
      b.dataset.series = e.uid;
      b.title = 'Click to show in the active viewport, or drag onto a viewport';
      const img = h('div', { class: 'img' }, e.modality);
      const n = str(e.ds, T.NumberOfSeriesRelatedInstances);
      const label = h('div', { class: 'label' });
      label.append(
        h('span', { class: 'mod' }, [e.modality, str(e.ds, T.SeriesNumber) && `#${str(e.ds, T.SeriesNumber)}`].filter(Boolean).join(' ')),
        h('span', { class: 'desc' }, str(e.ds, T.SeriesDescription) || '(no description)'),
        h('span', { class: 'count' }, `${n} instance${n === '1' ? '' : 's'}`),
      );
      b.replaceChildren(img, label, e.bar);
      b.onclick = () => void this.show(this.active, e);
      b.ondragstart = ev => ev.dataTransfer?.setData('text/x-series', e.uid);
      this.side.append(b);
    }
    this.changed(this.active);
  }

  private thumb(e: SeriesEntry): void {
    if (nonImageModalities.has(e.modality)) return;
    const img = new Image();
    img.alt = '';
    img.decoding = 'async';
    img.onload = () => e.button.querySelector('.img')?.replaceChildren(img);
    img.src = `/dicom-web/studies/${e.study}/series/${e.uid}/thumbnail?viewport=96,96`;
  }

  /** The series of an entry: from the probe when it found this series, else from its metadata. */
  private async load(e: SeriesEntry): Promise<Series> {
    const probe = this.probe;
    if (!probe) return Series.open(e.study, e.uid);
    // When the series list arrives first, the probe (asked for at the same time) is waited for a
    // little: it brings the first image sooner than the series' metadata would.
    const p = await Promise.race([probe, new Promise<undefined>(r => setTimeout(r, 250))]);
    if (p && p.series === e.uid && p.study === e.study) {
      this.probe = undefined;
      return Series.fromProbe(p);
    }
    return Series.open(e.study, e.uid);
  }

  private open(e: SeriesEntry): Promise<Series> {
    if (!e.series) {
      e.series = this.load(e);
      e.series
        .then(s => {
          const update = () => {
            const total = Math.max(1, s.images.length);
            e.bar.style.width = `${(100 * s.loaded) / total}%`;
            e.bar.hidden = s.loaded >= s.images.length;
            e.button.dataset.loaded = `${s.loaded}/${s.images.length}`;
          };
          // Once per animation frame, however many images came in since.
          s.onLoad(perFrame(update));
          update();
        })
        .catch(() => {
          e.series = undefined;
        });
    }
    return e.series;
  }

  private async show(v: Viewport, e: SeriesEntry): Promise<void> {
    v.setSeries(undefined);
    v.showDocument(h('p', { class: 'doc-meta' }, 'Loading…'));
    let s: Series;
    try {
      s = await this.open(e);
    } catch (err) {
      v.showDocument(h('p', { class: 'doc-meta error' }, `Cannot load the series: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    v.setSeries(s);
    if (s.kind === 'sr') v.showDocument(structuredReport(s));
    else if (s.kind === 'pdf') v.showDocument(pdfDocument(s));
    else if (s.kind === 'other') v.showDocument(otherDocument(s));
    if (s.kind === 'image') {
      const inst = s.images[0]?.inst;
      if (v === this.active && inst && inst.frames > 1) this.fpsInput.value = String(inst.fps);
      const off = s.onLoad(() => {
        if (v.series !== s) return off();
        if (s.loaded === s.images.length && !s.partial) {
          performance.mark('lightbox:all-loaded');
          off();
        }
      });
    }
    this.changed(v);
  }

  private markFirst(): void {
    this.firstImage = performance.now();
    performance.mark('lightbox:first-image');
    this.resolveFirst();
    this.root.dataset.state = 'ready';
  }

  private applyPreset(key: string): void {
    if (key === '0') return this.active.setVoi(undefined);
    const p = presets.find(x => x.key === key);
    if (!p) return;
    const v: Voi = { center: p.center, width: p.width, fn: 'LINEAR' };
    this.active.setVoi(v);
  }

  private toggleCine(): void {
    const v = this.active;
    if (v.playing()) v.stopCine();
    else v.play(Math.max(1, Number(this.fpsInput.value) || 15));
    this.changed(v);
  }

  private openTags(): void {
    const v = this.active;
    const { ref } = v.current();
    const ds = ref?.inst.ds ?? v.series?.instances[0]?.ds;
    if (!ds) return;
    const title = `${str(ds, T.Modality)} ${str(ds, T.SOPInstanceUID)}${ref && ref.inst.frames > 1 ? ` (frame ${ref.frame})` : ''}`;
    void openTagBrowser(ds, title);
  }

  private help(): void {
    const dlg = h('dialog', { class: 'help' });
    dlg.append(h('h2', {}, 'Keyboard shortcuts'));
    const table = h('table');
    for (const [k, what] of shortcuts) {
      const tr = h('tr');
      tr.append(h('th', {}, k), h('td', {}, what));
      table.append(tr);
    }
    const mouse = h('p', {}, 'Mouse: left button uses the tool; middle button pans; right button zooms; the wheel scrolls through the images.');
    const close = h('button', { type: 'button' }, 'Close');
    close.addEventListener('click', () => dlg.close());
    dlg.append(table, mouse, close);
    dlg.addEventListener('close', () => dlg.remove());
    document.body.append(dlg);
    dlg.showModal();
  }

  private key(e: KeyboardEvent): void {
    const t = e.target as HTMLElement;
    if (t.closest('input, select, textarea, dialog')) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const v = this.active;
    const n = v.series?.images.length ?? 0;
    const k = e.key;
    const lower = k.length === 1 ? k.toLowerCase() : k;
    const tool = tools.find(x => x.key === lower);
    let handled = true;
    if (tool) this.setTool(tool.tool);
    else if (k === 'ArrowDown' || k === 'ArrowRight') v.step(1);
    else if (k === 'ArrowUp' || k === 'ArrowLeft') v.step(-1);
    else if (k === 'PageDown') v.step(10);
    else if (k === 'PageUp') v.step(-10);
    else if (k === 'Home') v.setIndex(0);
    else if (k === 'End') v.setIndex(n - 1);
    else if (k === '0' || presets.some(p => p.key === k)) this.applyPreset(k);
    else if (lower === 'i') v.toggleInvert();
    else if (lower === 'h') v.flip(true);
    else if (lower === 'v') v.flip(false);
    else if (k === '[') v.rotate(-1);
    else if (k === ']') v.rotate(1);
    else if (lower === 'f') v.fitToWindow();
    else if (k === '=') v.actualSize();
    else if (k === ' ') v.reset();
    else if (lower === 'c') this.toggleCine();
    else if (lower === 't') this.openTags();
    else if (k === 'Delete' || k === 'Backspace') v.deleteLast();
    else if (k === 'Escape') v.cancelDrawing();
    else if (k === '?') this.help();
    else if (k === 'Tab') {
      const shown = this.viewports.slice(0, layouts.find(l => l.id === this.layout)!.n);
      this.activate(shown[(shown.indexOf(v) + 1) % shown.length]!);
    } else handled = false;
    if (handled) e.preventDefault();
  }

  /** The hook the tests and the benchmark read (window.lightbox). */
  private expose(): void {
    const app = this;
    (window as unknown as { lightbox: unknown }).lightbox = {
      get firstImage() {
        return app.firstImage;
      },
      start: this.t0,
      viewports: () => app.viewports.slice(0, layouts.find(l => l.id === app.layout)!.n).map(v => v.state()),
      active: () => app.viewports.indexOf(app.active),
      /** The active viewport's series: pixel bytes held and loading timings. */
      series: () => {
        const s = app.active.series;
        return s ? { uid: s.uid, images: s.images.length, loaded: s.loaded, bytes: s.bytes(), timing: s.timing } : null;
      },
      /** Draws the active viewport at once and returns the time it took (ms). */
      drawNow: () => {
        const t = performance.now();
        app.active.draw();
        return performance.now() - t;
      },
      step: (d: number) => app.active.step(d),
      setWindow: (center: number, width: number) => app.active.setVoi({ center, width, fn: 'LINEAR' }),
      actualSize: () => app.active.actualSize(),
    };
  }
}
