// A viewport: one series drawn into a 2D canvas through the grayscale or colour pipeline, with
// window/level, zoom, pan, rotation, flips, inversion, measurements, cine, a scrollbar and the
// corner annotations. The image is drawn alone on its canvas; annotations and measurements are
// HTML and SVG above it, so the canvas holds exactly the image's pixels.

import { T, displayName, formatDate, formatTime, num, str } from './dicomweb';
import { perFrame } from './frame';
import { buildLut, type Lut, minWidth, modalityRange, rangeWindow, renderGray, type Voi } from './image';
import { type Measurement, type MeasureKind, type Point, label, roiStats } from './measure';
import type { ImageRef, Pixels, Series } from './series';

export type Tool = 'wl' | 'pan' | 'zoom' | 'length' | 'angle' | 'ellipse' | 'rect';

const svgNS = 'http://www.w3.org/2000/svg';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, parent?: HTMLElement): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  parent?.appendChild(e);
  return e;
}

function fmtNum(v: number): string {
  return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
}

export interface ViewportHost {
  tool(): Tool;
  activate(v: Viewport): void;
  changed(v: Viewport): void;
  /** Called once a series' first image is on the canvas. */
  firstDraw(v: Viewport): void;
}

export class Viewport {
  readonly el: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  /** Whether the canvas has the viewport's size, and whether anything was drawn on it yet. */
  private sized = false;
  private everDrawn = false;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly svg: SVGSVGElement;
  private readonly corners: Record<'tl' | 'tr' | 'bl' | 'br', HTMLDivElement>;
  private readonly scroll: HTMLInputElement;
  private readonly message: HTMLDivElement;
  private readonly progress: HTMLDivElement;
  readonly doc: HTMLDivElement;

  series?: Series;
  index = 0;
  voi?: Voi;
  invert = false;
  scale = 1;
  fitted = true;
  pan = { x: 0, y: 0 };
  rotation = 0;
  flipH = false;
  flipV = false;
  readonly measurements = new Map<string, Measurement[]>();

  private off = document.createElement('canvas');
  private offCtx = this.off.getContext('2d')!;
  private imageData?: ImageData;
  private words?: Uint32Array;
  private offKey = '';
  private lut?: Lut;
  private lutKey = '';
  private unsubscribe?: () => void;
  private drag?: { button: number; tool: Tool; x: number; y: number; start: Point; m?: Measurement };
  private pendingAngle?: Measurement;
  private cineTimer = 0;
  cineFps = 0;
  /** performance.now() of the last draw of each image index, and of the first draw with pixels. */
  firstDrawn = 0;
  drawCount = 0;
  /** Image → canvas device pixels, as last drawn. */
  private deviceMatrix: number[] = [];

  constructor(private readonly host: ViewportHost) {
    this.el = el('div', 'viewport');
    this.el.tabIndex = -1;
    this.canvas = el('canvas', 'image', this.el);
    this.ctx = this.canvas.getContext('2d', { alpha: false })!;
    this.svg = document.createElementNS(svgNS, 'svg');
    this.svg.classList.add('measures');
    this.el.appendChild(this.svg);
    this.corners = {
      tl: el('div', 'corner tl', this.el),
      tr: el('div', 'corner tr', this.el),
      bl: el('div', 'corner bl', this.el),
      br: el('div', 'corner br', this.el),
    };
    this.message = el('div', 'message', this.el);
    this.progress = el('div', 'progress', this.el);
    this.doc = el('div', 'document', this.el);
    this.scroll = el('input', 'scroll', this.el);
    this.scroll.type = 'range';
    this.scroll.min = '0';
    this.scroll.step = '1';
    this.scroll.title = 'Image (wheel, arrow keys)';
    this.scroll.addEventListener('input', () => this.setIndex(Number(this.scroll.value)));
    this.scroll.addEventListener('pointerdown', e => e.stopPropagation());
    this.el.addEventListener('pointerdown', e => this.pointerDown(e));
    this.el.addEventListener('pointermove', e => this.pointerMove(e));
    this.el.addEventListener('pointerup', e => this.pointerUp(e));
    this.el.addEventListener('pointercancel', () => (this.drag = undefined));
    this.el.addEventListener('contextmenu', e => e.preventDefault());
    this.el.addEventListener('wheel', e => this.wheel(e), { passive: false });
    this.el.addEventListener('dblclick', () => this.reset());
    new ResizeObserver(() => this.resize()).observe(this.el);
  }

  /** Shows a series (or nothing), from image index. */
  setSeries(s: Series | undefined, index = 0): void {
    this.stopCine();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.series = s;
    this.index = 0;
    this.voi = undefined;
    this.offKey = '';
    this.lutKey = '';
    this.firstDrawn = 0;
    this.doc.replaceChildren();
    this.el.classList.toggle('has-doc', false);
    this.resetView();
    if (s && s.kind === 'image') {
      this.index = Math.max(0, Math.min(index, s.images.length - 1));
      this.unsubscribe = s.onLoad(i => {
        if (i < 0) this.relisted(s);
        // The first image is drawn at once; later ones at the next animation frame.
        else if (i !== this.index) this.renderProgressSoon();
        else if (this.firstDrawn) this.render();
        else this.draw();
      });
      s.start(this.index);
      this.scroll.max = String(Math.max(0, s.images.length - 1));
      this.scroll.value = String(this.index);
      this.scroll.hidden = s.images.length < 2;
    } else {
      this.scroll.hidden = true;
    }
    this.render();
  }

  /** The series listed its images again (its metadata arrived): the image in view stays. */
  private relisted(s: Series): void {
    this.index = Math.min(s.moved(this.index), Math.max(0, s.images.length - 1));
    this.scroll.max = String(Math.max(0, s.images.length - 1));
    this.scroll.value = String(this.index);
    this.scroll.hidden = s.images.length < 2;
    s.prioritize(this.index);
    this.render();
    this.host.changed(this);
  }

  /** Shows a document (SR, PDF, …) instead of an image. */
  showDocument(node: Node): void {
    this.doc.replaceChildren(node);
    this.el.classList.toggle('has-doc', true);
  }

  current(): { ref?: ImageRef; px?: Pixels } {
    const s = this.series;
    if (!s || s.kind !== 'image') return {};
    return { ref: s.images[this.index], px: s.pixels[this.index] };
  }

  setIndex(i: number): void {
    const s = this.series;
    if (!s || s.kind !== 'image' || !s.images.length) return;
    const n = s.images.length;
    const j = Math.max(0, Math.min(n - 1, Math.round(i)));
    if (j === this.index) return;
    this.index = j;
    this.pendingAngle = undefined;
    s.prioritize(j);
    this.scroll.value = String(j);
    this.render();
    this.host.changed(this);
  }

  step(d: number): void {
    this.setIndex(this.index + d);
  }

  setVoi(v: Voi | undefined): void {
    this.voi = v;
    this.render();
    this.host.changed(this);
  }

  /** The window of the image in view (the user's, else the data set's, else the frame's range). */
  window(): Voi | undefined {
    if (this.voi) return this.voi;
    const { ref, px } = this.current();
    if (!ref || px?.kind !== 'gray') return undefined;
    if (ref.inst.windows[0]) return ref.inst.windows[0];
    const r = modalityRange(px, ref.inst.slope, ref.inst.intercept);
    return rangeWindow(r.min, r.max);
  }

  private resetView(): void {
    this.scale = 1;
    this.fitted = true;
    this.pan = { x: 0, y: 0 };
    this.rotation = 0;
    this.flipH = false;
    this.flipV = false;
    this.invert = false;
  }

  reset(): void {
    this.resetView();
    this.voi = undefined;
    this.render();
    this.host.changed(this);
  }

  rotate(quarterTurns: number): void {
    this.rotation = (((this.rotation + quarterTurns) % 4) + 4) % 4;
    if (this.fitted) this.fit();
    this.render();
    this.host.changed(this);
  }

  flip(horizontal: boolean): void {
    // Flips are in screen space: under a rotation of a quarter turn the image's axes are swapped.
    const swap = this.rotation % 2 === 1;
    if (horizontal !== swap) this.flipH = !this.flipH;
    else this.flipV = !this.flipV;
    this.render();
    this.host.changed(this);
  }

  toggleInvert(): void {
    this.invert = !this.invert;
    this.render();
    this.host.changed(this);
  }

  private aspect(): number {
    const sp = this.current().ref?.inst.spacing;
    return sp && sp[1] > 0 ? sp[0] / sp[1] : 1;
  }

  private size(): { w: number; h: number } {
    return { w: this.el.clientWidth, h: this.el.clientHeight };
  }

  /** Zooms so that the whole image fits. */
  fit(): void {
    const { ref } = this.current();
    const { w, h } = this.size();
    if (!ref || !w || !h) return;
    let iw = ref.inst.format.columns;
    let ih = ref.inst.format.rows * this.aspect();
    if (this.rotation % 2 === 1) [iw, ih] = [ih, iw];
    this.scale = Math.min(w / iw, h / ih);
    this.pan = { x: 0, y: 0 };
    this.fitted = true;
  }

  /** One image pixel on one device pixel. */
  actualSize(): void {
    this.scale = 1 / (window.devicePixelRatio || 1);
    this.pan = { x: 0, y: 0 };
    this.fitted = false;
    this.render();
    this.host.changed(this);
  }

  fitToWindow(): void {
    this.fit();
    this.render();
    this.host.changed(this);
  }

  zoomBy(f: number): void {
    this.scale = Math.max(0.02, Math.min(64, this.scale * f));
    this.fitted = false;
    this.render();
    this.host.changed(this);
  }

  /** Image coordinates → CSS pixels of the viewport. */
  transform(): DOMMatrix {
    const { ref } = this.current();
    const { w, h } = this.size();
    const cols = ref?.inst.format.columns ?? 1;
    const rows = ref?.inst.format.rows ?? 1;
    const m = new DOMMatrix();
    m.translateSelf(w / 2 + this.pan.x, h / 2 + this.pan.y);
    m.rotateSelf(this.rotation * 90);
    m.scaleSelf((this.flipH ? -1 : 1) * this.scale, (this.flipV ? -1 : 1) * this.scale * this.aspect());
    m.translateSelf(-cols / 2, -rows / 2);
    return m;
  }

  private toImage(e: { clientX: number; clientY: number }): Point {
    const r = this.el.getBoundingClientRect();
    const p = this.transform().inverse().transformPoint(new DOMPoint(e.clientX - r.left, e.clientY - r.top));
    return { x: p.x, y: p.y };
  }

  private resize(): void {
    const { w, h } = this.size();
    this.sized = false;
    this.svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    if (this.fitted) this.fit();
    this.draw();
  }

  /** Draws at the next animation frame. */
  readonly render = perFrame(() => this.draw());

  /** Gives the canvas the viewport's size in device pixels. */
  private sizeCanvas(): void {
    const dpr = window.devicePixelRatio || 1;
    const { w, h } = this.size();
    const cw = Math.max(1, Math.round(w * dpr));
    const ch = Math.max(1, Math.round(h * dpr));
    if (this.canvas.width !== cw || this.canvas.height !== ch) {
      this.canvas.width = cw;
      this.canvas.height = ch;
    }
    this.sized = true;
  }

  /** Draws now. */
  draw(): void {
    const ctx = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    const { ref, px } = this.current();
    // The canvas is left as it is (small, empty, behind a black viewport) until there is an
    // image to draw: sizing and clearing a viewport-sized canvas costs the page's first paint
    // tens of milliseconds on slow machines, for nothing to see.
    if (px || this.everDrawn) {
      if (!this.sized) this.sizeCanvas();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
      this.everDrawn = true;
    }
    this.message.textContent = '';
    if (!this.series) {
      this.message.textContent = 'Choose a series';
    } else if (this.series.kind !== 'image') {
      // A document is shown instead.
    } else if (!ref) {
      this.message.textContent = 'No images';
    } else if (!px) {
      this.message.textContent = 'Loading…';
    } else if (px.kind === 'error') {
      this.message.textContent = px.message;
    } else {
      if (this.fitted) this.fit();
      const source = this.prepare(ref, px);
      if (source) {
        const m = this.transform();
        const d = new DOMMatrix([dpr, 0, 0, dpr, 0, 0]).multiply(m);
        // At one image pixel per device pixel, whole-pixel offsets keep the pixels exact.
        if (Math.abs(Math.abs(d.a) + Math.abs(d.b) - 1) < 1e-9 && Math.abs(Math.abs(d.c) + Math.abs(d.d) - 1) < 1e-9) {
          d.e = Math.round(d.e);
          d.f = Math.round(d.f);
          ctx.imageSmoothingEnabled = false;
        } else {
          // Bilinear when magnifying (cheap enough for scrolling at the display's rate); the
          // better filter when minifying, where bilinear would alias.
          ctx.imageSmoothingEnabled = true;
          ctx.imageSmoothingQuality = Math.hypot(d.a, d.b) >= 1 ? 'low' : 'high';
        }
        ctx.setTransform(d.a, d.b, d.c, d.d, d.e, d.f);
        this.deviceMatrix = [d.a, d.b, d.c, d.d, d.e, d.f];
        ctx.drawImage(source, 0, 0, ref.inst.format.columns, ref.inst.format.rows);
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        this.drawCount++;
        if (!this.firstDrawn) {
          this.firstDrawn = performance.now();
          this.el.dataset.drawn = '1';
          this.host.firstDraw(this);
        }
      }
    }
    this.el.dataset.index = String(this.index);
    this.drawMeasurements();
    this.annotate();
    this.renderProgress();
  }

  /** The offscreen canvas or bitmap holding the image in view with its window applied. */
  private prepare(ref: ImageRef, px: Pixels): CanvasImageSource | undefined {
    if (px.kind === 'bitmap') return px.bitmap;
    if (px.kind === 'error') return undefined;
    const f = ref.inst.format;
    const voi = this.window();
    const key = `${ref.key}|${voi ? `${voi.center},${voi.width},${voi.fn}` : ''}|${this.invert}`;
    if (key === this.offKey) return this.off;
    if (this.off.width !== f.columns || this.off.height !== f.rows || !this.imageData) {
      this.off.width = f.columns;
      this.off.height = f.rows;
      this.imageData = this.offCtx.createImageData(f.columns, f.rows);
      this.words = new Uint32Array(this.imageData.data.buffer);
    }
    if (px.kind === 'gray' && voi) {
      const lk = `${f.bitsAllocated},${f.bitsStored},${f.signed},${f.photometric},${ref.inst.slope},${ref.inst.intercept},${voi.center},${voi.width},${voi.fn},${this.invert}`;
      if (lk !== this.lutKey) {
        this.lut = f.float || f.bitsAllocated > 16 ? undefined : buildLut(f, ref.inst.slope, ref.inst.intercept, voi, this.invert);
        this.lutKey = lk;
      }
      renderGray(px.data, f, ref.inst.slope, ref.inst.intercept, voi, this.invert, this.words!, this.lut);
    } else if (px.kind === 'color') {
      const d = this.imageData.data;
      d.set(px.rgba.subarray(0, d.length));
      if (this.invert) for (let i = 0; i < d.length; i += 4) (d[i] = 255 - d[i]!), (d[i + 1] = 255 - d[i + 1]!), (d[i + 2] = 255 - d[i + 2]!);
    }
    this.offCtx.putImageData(this.imageData, 0, 0);
    this.offKey = key;
    return this.off;
  }

  /**
   * Shows the loading progress at the next animation frame: a series streaming in loads hundreds
   * of images a second, and updating the bar and the corner for each one cost the page a style
   * and layout pass per image.
   */
  private readonly renderProgressSoon = perFrame(() => this.renderProgress());

  private renderProgress(): void {
    const s = this.series;
    if (!s || s.kind !== 'image' || s.loaded >= s.images.length) {
      this.progress.hidden = true;
      return;
    }
    this.progress.hidden = false;
    this.progress.style.width = `${(100 * s.loaded) / Math.max(1, s.images.length)}%`;
    this.progress.title = `${s.loaded} of ${s.images.length} images loaded`;
    this.annotateBottomLeft();
  }

  private annotate(): void {
    const { ref, px } = this.current();
    const ds = ref?.inst.ds ?? this.series?.instances[0]?.ds;
    if (!ds) {
      for (const c of Object.values(this.corners)) c.textContent = '';
      return;
    }
    const lines = (c: HTMLDivElement, ls: string[]) => {
      const t = ls.filter(Boolean).join('\n');
      if (c.textContent !== t) c.textContent = t;
    };
    const sexAge = [str(ds, T.PatientSex), str(ds, T.PatientAge)].filter(Boolean).join(' ');
    const birth = formatDate(str(ds, T.PatientBirthDate));
    lines(this.corners.tl, [displayName(ds, T.PatientName), str(ds, T.PatientID) && `ID ${str(ds, T.PatientID)}`, [birth, sexAge].filter(Boolean).join('  ')]);
    const date = [formatDate(str(ds, T.StudyDate)), formatTime(str(ds, T.StudyTime))].filter(Boolean).join(' ');
    const seriesLine = [str(ds, T.SeriesNumber) && `Se ${str(ds, T.SeriesNumber)}`, str(ds, T.SeriesDescription)].filter(Boolean).join(' ');
    lines(this.corners.tr, [str(ds, T.StudyDescription), date, seriesLine, str(ds, T.Modality)]);
    this.annotateBottomLeft();
    const br: string[] = [];
    if (px?.kind === 'gray') {
      const v = this.window();
      if (v) br.push(`W ${fmtNum(v.width)} L ${fmtNum(v.center)}`);
    } else if (px?.kind === 'bitmap') {
      br.push(px.note);
    }
    br.push(`Zoom ${Math.round(this.scale * 100)}%`);
    const flags = [this.rotation ? `${this.rotation * 90}°` : '', this.flipH ? 'flip H' : '', this.flipV ? 'flip V' : '', this.invert ? 'inverted' : ''].filter(Boolean).join(' ');
    if (flags) br.push(flags);
    if (this.cineTimer) br.push(`Cine ${this.cineFps} fps`);
    lines(this.corners.br, br);
  }

  private annotateBottomLeft(): void {
    const s = this.series;
    const { ref } = this.current();
    if (!s || s.kind !== 'image' || !ref) {
      this.corners.bl.textContent = '';
      return;
    }
    const ls: string[] = [];
    const n = s.images.length;
    ls.push(`Im ${this.index + 1}/${n}${ref.inst.frames > 1 ? `  Fr ${ref.frame}/${ref.inst.frames}` : ''}`);
    const loc = num(ref.inst.ds, T.SliceLocation);
    const thick = num(ref.inst.ds, T.SliceThickness);
    if (Number.isFinite(loc)) ls.push(`Loc ${loc.toFixed(1)} mm${Number.isFinite(thick) ? `  Thick ${fmtNum(thick)} mm` : ''}`);
    const f = ref.inst.format;
    ls.push(`${f.columns}×${f.rows}${ref.inst.spacing ? `  ${ref.inst.spacing[1].toFixed(3)} mm/px${ref.inst.spacingNote ? ` (${ref.inst.spacingNote})` : ''}` : ''}`);
    if (s.loaded < n) ls.push(`Loading ${s.loaded}/${n}`);
    const t = ls.join('\n');
    if (this.corners.bl.textContent !== t) this.corners.bl.textContent = t;
  }

  // Measurements.

  private list(create: boolean): Measurement[] | undefined {
    const { ref } = this.current();
    if (!ref) return undefined;
    let l = this.measurements.get(ref.key);
    if (!l && create) {
      l = [];
      this.measurements.set(ref.key, l);
    }
    return l;
  }

  /** Removes the last measurement of the image in view. */
  deleteLast(): void {
    this.list(false)?.pop();
    this.pendingAngle = undefined;
    this.render();
  }

  clearMeasurements(): void {
    this.measurements.clear();
    this.pendingAngle = undefined;
    this.render();
  }

  /** The measurements of the image in view with their labels (for the tests and the sidebar). */
  measurementLabels(): { kind: MeasureKind; lines: string[] }[] {
    const { ref, px } = this.current();
    if (!ref) return [];
    return (this.list(false) ?? []).map(m => ({ kind: m.kind, lines: this.labelOf(m, ref, px) }));
  }

  private labelOf(m: Measurement, ref: ImageRef, px: Pixels | undefined): string[] {
    const inst = ref.inst;
    if (m.kind === 'ellipse' || m.kind === 'rect') {
      const st = roiStats(m.kind, m.points[0]!, m.points[1]!, inst.format.columns, inst.format.rows, px?.kind === 'gray' ? px.data : undefined, inst.slope, inst.intercept, inst.spacing);
      return label(m, inst.spacing, st, inst.units);
    }
    return label(m, inst.spacing);
  }

  private drawMeasurements(): void {
    const { ref, px } = this.current();
    const svg = this.svg;
    svg.replaceChildren();
    if (!ref) return;
    const all = [...(this.list(false) ?? [])];
    if (this.drag?.m) all.push(this.drag.m);
    if (this.pendingAngle) all.push(this.pendingAngle);
    if (!all.length) return;
    const m = this.transform();
    const scr = (p: Point) => m.transformPoint(new DOMPoint(p.x, p.y));
    for (const ms of all) {
      const g = document.createElementNS(svgNS, 'g');
      g.setAttribute('class', `measure ${ms.kind}`);
      g.dataset.kind = ms.kind;
      const pts = ms.points.map(scr);
      const add = (name: string, attrs: Record<string, string | number>) => {
        const e = document.createElementNS(svgNS, name);
        for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
        g.appendChild(e);
        return e;
      };
      if (ms.kind === 'length' || ms.kind === 'angle') {
        add('polyline', { points: pts.map(p => `${p.x},${p.y}`).join(' ') });
      } else {
        // Corners in image space, mapped through the transform (which may rotate or flip).
        const [a, b] = ms.points as [Point, Point];
        const corners = [a, { x: b.x, y: a.y }, b, { x: a.x, y: b.y }].map(scr);
        if (ms.kind === 'rect') {
          add('polygon', { points: corners.map(p => `${p.x},${p.y}`).join(' ') });
        } else {
          const cx = (corners[0]!.x + corners[2]!.x) / 2;
          const cy = (corners[0]!.y + corners[2]!.y) / 2;
          const rx = Math.hypot(corners[1]!.x - corners[0]!.x, corners[1]!.y - corners[0]!.y) / 2;
          const ry = Math.hypot(corners[3]!.x - corners[0]!.x, corners[3]!.y - corners[0]!.y) / 2;
          const ang = (Math.atan2(corners[1]!.y - corners[0]!.y, corners[1]!.x - corners[0]!.x) * 180) / Math.PI;
          add('ellipse', { cx, cy, rx, ry, transform: `rotate(${ang} ${cx} ${cy})` });
        }
      }
      for (const p of pts) add('circle', { cx: p.x, cy: p.y, r: 3, class: 'handle' });
      const lines = this.labelOf(ms, ref, px);
      if (lines.length) {
        const anchor = pts.reduce((a, p) => (p.x > a.x ? p : a), pts[0]!);
        const t = add('text', { x: anchor.x + 8, y: anchor.y, class: 'label' });
        lines.forEach((l, i) => {
          const span = document.createElementNS(svgNS, 'tspan');
          span.setAttribute('x', String(anchor.x + 8));
          span.setAttribute('dy', i ? '1.2em' : '0');
          span.textContent = l;
          t.appendChild(span);
        });
      }
      svg.appendChild(g);
    }
  }

  // Pointer input.

  private pointerDown(e: PointerEvent): void {
    this.host.activate(this);
    if (this.cineTimer && e.button === 0) return;
    const tool: Tool = e.button === 1 ? 'pan' : e.button === 2 ? 'zoom' : this.host.tool();
    const start = this.toImage(e);
    this.el.setPointerCapture(e.pointerId);
    e.preventDefault();
    if (tool === 'angle' && this.pendingAngle) {
      // Third click of an angle: its second arm ends here.
      const pa = this.pendingAngle;
      pa.points[2] = start;
      this.list(true)!.push(pa);
      this.pendingAngle = undefined;
      this.render();
      return;
    }
    let m: Measurement | undefined;
    if (tool === 'length' || tool === 'ellipse' || tool === 'rect' || tool === 'angle') {
      m = { kind: tool, points: [start, { ...start }] };
    }
    this.drag = { button: e.button, tool, x: e.clientX, y: e.clientY, start, m };
  }

  private pointerMove(e: PointerEvent): void {
    const d = this.drag;
    if (!d) {
      if (this.pendingAngle) {
        this.pendingAngle.points[2] = this.toImage(e);
        this.render();
      }
      return;
    }
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    d.x = e.clientX;
    d.y = e.clientY;
    switch (d.tool) {
      case 'wl': {
        const v = this.window();
        const { ref, px } = this.current();
        if (!v || !ref || px?.kind !== 'gray') return;
        const r = modalityRange(px, ref.inst.slope, ref.inst.intercept);
        const k = Math.max(0.05, (r.max - r.min) / 512);
        this.voi = { center: v.center + dy * k, width: Math.max(minWidth(v.fn), v.width + dx * k), fn: v.fn };
        break;
      }
      case 'pan':
        this.pan = { x: this.pan.x + dx, y: this.pan.y + dy };
        break;
      case 'zoom':
        this.scale = Math.max(0.02, Math.min(64, this.scale * Math.exp(-dy * 0.01)));
        this.fitted = false;
        break;
      default:
        if (d.m) d.m.points[1] = this.toImage(e);
    }
    this.render();
    this.host.changed(this);
  }

  private pointerUp(e: PointerEvent): void {
    const d = this.drag;
    this.drag = undefined;
    if (this.el.hasPointerCapture(e.pointerId)) this.el.releasePointerCapture(e.pointerId);
    if (!d?.m) return;
    d.m.points[1] = this.toImage(e);
    const [a, b] = d.m.points as [Point, Point];
    const tiny = Math.hypot(b.x - a.x, b.y - a.y) * this.scale < 3;
    if (d.m.kind === 'angle') {
      if (!tiny) this.pendingAngle = { kind: 'angle', points: [a, b, { ...b }] };
    } else if (!tiny) {
      this.list(true)!.push(d.m);
    }
    this.render();
    this.host.changed(this);
  }

  cancelDrawing(): void {
    this.drag = undefined;
    this.pendingAngle = undefined;
    this.render();
  }

  private wheel(e: WheelEvent): void {
    e.preventDefault();
    if (e.ctrlKey) {
      this.zoomBy(Math.exp(-e.deltaY * 0.002));
      return;
    }
    if (e.deltaY !== 0) this.step(Math.sign(e.deltaY));
  }

  // Cine.

  playing(): boolean {
    return this.cineTimer !== 0;
  }

  play(fps: number): void {
    this.stopCine();
    const s = this.series;
    if (!s || s.kind !== 'image' || s.images.length < 2) return;
    this.cineFps = fps;
    let last = performance.now();
    const tick = (now: number) => {
      if (!this.cineTimer) return;
      const period = 1000 / Math.max(1, this.cineFps);
      if (now - last >= period) {
        last = now - ((now - last) % period);
        const next = (this.index + 1) % s.images.length;
        // Wait for frames still loading rather than skipping them.
        if (s.pixels[next]) {
          this.index = next;
          this.scroll.value = String(next);
          this.draw();
        } else {
          s.prioritize(next);
        }
      }
      this.cineTimer = requestAnimationFrame(tick);
    };
    this.cineTimer = requestAnimationFrame(tick);
    this.render();
    this.host.changed(this);
  }

  stopCine(): void {
    if (this.cineTimer) cancelAnimationFrame(this.cineTimer);
    this.cineTimer = 0;
    this.render();
  }

  /** What the tests and the benchmark read. */
  state(): Record<string, unknown> {
    const { ref, px } = this.current();
    const v = this.window();
    return {
      series: this.series?.uid ?? '',
      kind: this.series?.kind ?? '',
      index: this.index,
      count: this.series?.images.length ?? 0,
      loaded: this.series?.loaded ?? 0,
      sop: ref?.inst.sop ?? '',
      transferSyntax: ref?.inst.transferSyntax ?? '',
      frame: ref?.frame ?? 0,
      pixels: px?.kind ?? '',
      error: px?.kind === 'error' ? px.message : '',
      window: v ? { center: v.center, width: v.width, fn: v.fn } : null,
      scale: this.scale,
      rotation: this.rotation,
      flipH: this.flipH,
      flipV: this.flipV,
      invert: this.invert,
      cine: this.cineTimer ? this.cineFps : 0,
      drawn: this.firstDrawn,
      draws: this.drawCount,
      timing: this.series?.timing ?? null,
      measurements: this.measurementLabels(),
      /** Image → canvas pixels as last drawn, and image → CSS pixels of the viewport now. */
      deviceMatrix: this.deviceMatrix,
      cssMatrix: (({ a, b, c, d, e, f }) => [a, b, c, d, e, f])(this.transform()),
      columns: ref?.inst.format.columns ?? 0,
      rows: ref?.inst.format.rows ?? 0,
      spacing: ref?.inst.spacing ?? null,
    };
  }
}
