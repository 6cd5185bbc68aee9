// Measurements in image coordinates (pixel units, x right along columns, y down along rows) and
// their values in millimetres and modality units.

import type { GrayData } from './image';

export interface Point {
  x: number;
  y: number;
}

export type MeasureKind = 'length' | 'angle' | 'ellipse' | 'rect';

export interface Measurement {
  kind: MeasureKind;
  /** length: 2 points; angle: 3 (the vertex second); ellipse and rect: 2 opposite corners. */
  points: Point[];
}

/** Pixel spacing: [row spacing (mm between rows, along y), column spacing (along x)]. */
export type Spacing = [number, number] | undefined;

/** The length of a segment in mm (or in pixels without a spacing). */
export function length(a: Point, b: Point, spacing: Spacing): number {
  const dx = (b.x - a.x) * (spacing ? spacing[1] : 1);
  const dy = (b.y - a.y) * (spacing ? spacing[0] : 1);
  return Math.hypot(dx, dy);
}

/** The angle at b between the segments b→a and b→c, in degrees, in physical space. */
export function angle(a: Point, b: Point, c: Point, spacing: Spacing): number {
  const sx = spacing ? spacing[1] : 1;
  const sy = spacing ? spacing[0] : 1;
  const ux = (a.x - b.x) * sx;
  const uy = (a.y - b.y) * sy;
  const vx = (c.x - b.x) * sx;
  const vy = (c.y - b.y) * sy;
  const n = Math.hypot(ux, uy) * Math.hypot(vx, vy);
  if (n === 0) return 0;
  return (Math.acos(Math.max(-1, Math.min(1, (ux * vx + uy * vy) / n))) * 180) / Math.PI;
}

export interface RoiStats {
  /** Pixels whose centre lies inside. */
  count: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
  /** Area of the shape in mm² (or pixels² without a spacing). */
  area: number;
}

/**
 * Statistics of the modality values inside an ellipse or a rectangle given by two opposite
 * corners. Values are read from stored values (data) through slope and intercept; data may be
 * undefined for images without values (colour), and then only the area is given.
 */
export function roiStats(kind: 'ellipse' | 'rect', a: Point, b: Point, columns: number, rows: number, data: GrayData | undefined, slope: number, intercept: number, spacing: Spacing): RoiStats {
  const x0 = Math.min(a.x, b.x);
  const x1 = Math.max(a.x, b.x);
  const y0 = Math.min(a.y, b.y);
  const y1 = Math.max(a.y, b.y);
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const rx = (x1 - x0) / 2;
  const ry = (y1 - y0) / 2;
  const px = spacing ? spacing[0] * spacing[1] : 1;
  const area = (kind === 'ellipse' ? Math.PI * rx * ry : (x1 - x0) * (y1 - y0)) * px;
  let count = 0;
  let sum = 0;
  let sum2 = 0;
  let min = Infinity;
  let max = -Infinity;
  if (data) {
    const ia = Math.max(0, Math.floor(x0));
    const ib = Math.min(columns - 1, Math.ceil(x1));
    const ja = Math.max(0, Math.floor(y0));
    const jb = Math.min(rows - 1, Math.ceil(y1));
    for (let j = ja; j <= jb; j++) {
      const yc = j + 0.5;
      if (yc < y0 || yc > y1) continue;
      for (let i = ia; i <= ib; i++) {
        const xc = i + 0.5;
        if (xc < x0 || xc > x1) continue;
        if (kind === 'ellipse') {
          const u = rx > 0 ? (xc - cx) / rx : 0;
          const v = ry > 0 ? (yc - cy) / ry : 0;
          if (u * u + v * v > 1) continue;
        }
        const m = data[j * columns + i]! * slope + intercept;
        count++;
        sum += m;
        sum2 += m * m;
        if (m < min) min = m;
        if (m > max) max = m;
      }
    }
  }
  const mean = count ? sum / count : NaN;
  // Sample standard deviation (n − 1), as most viewers report it.
  const sd = count > 1 ? Math.sqrt(Math.max(0, (sum2 - count * mean * mean) / (count - 1))) : count ? 0 : NaN;
  return { count, mean, sd, min: count ? min : NaN, max: count ? max : NaN, area };
}

function fmt(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '—';
}

/** The label of a measurement, one line per entry. */
export function label(m: Measurement, spacing: Spacing, stats?: RoiStats, units = ''): string[] {
  const lu = spacing ? 'mm' : 'px';
  const [a, b, c] = m.points as [Point, Point, Point | undefined];
  switch (m.kind) {
    case 'length':
      return [`${fmt(length(a, b, spacing), 2)} ${lu}`];
    case 'angle':
      return c ? [`${fmt(angle(a, b, c, spacing), 1)}°`] : [];
    default: {
      const u = units ? ` ${units}` : '';
      const lines: string[] = [];
      if (stats && stats.count) lines.push(`Mean ${fmt(stats.mean)}${u}`, `SD ${fmt(stats.sd)}${u}`);
      lines.push(`Area ${fmt(stats?.area ?? NaN, 1)} ${lu}²`);
      return lines;
    }
  }
}
