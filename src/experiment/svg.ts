/**
 * Small self-contained SVG charts for the report: line charts (linear or log axes) and bar charts
 * with error bars. Text uses the browser's default sans-serif font: no external resources.
 * Every chart is an <svg data-plot="id"> so a browser check can find it.
 */

export type AxisScale = 'linear' | 'log';

export interface Axis {
  label: string;
  min: number;
  max: number;
  scale?: AxisScale;
  /** Format of tick labels (default: compact number). */
  format?: (v: number) => string;
}

export interface LineSeries {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
  /** Draw a dot on every point (calibration buckets). */
  markers?: boolean;
  /** Stroke opacity (default 1). */
  opacity?: number;
  /** Leave out of the legend (e.g. repeated runs). */
  hideInLegend?: boolean;
}

export interface LineChart {
  id: string;
  title: string;
  x: Axis;
  y: Axis;
  series: readonly LineSeries[];
  /** Draw y = x (ROC chance line, perfect calibration). */
  diagonal?: boolean;
  width?: number;
  height?: number;
}

export interface BarGroup {
  name: string;
  color: string;
  values: readonly (number | null)[];
  /** Half-length of an error bar per category (e.g. the std); null for none. */
  errors?: readonly (number | null)[];
}

export interface BarChart {
  id: string;
  title: string;
  categories: readonly string[];
  groups: readonly BarGroup[];
  y: Axis;
  width?: number;
  height?: number;
}

/** One color per model, fixed so that every chart agrees. */
/** Line and bar colours of the models, by their place in the registry (a kind keeps its colour in every report). */
export const MODEL_PALETTE: readonly string[] = [
  '#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#17becf', '#ff7f0e',
  '#e377c2', '#7f7f7f', '#bcbd22', '#393b79', '#637939', '#8c6d31', '#843c39',
];

const MARGIN = { left: 62, right: 16, top: 34, bottom: 48 };
const LEGEND_ROW = 18;

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(0) : String(+v.toPrecision(3)));

/** A scale from data to pixels; log scales clamp values below the minimum to it. */
function scaler(axis: Axis, from: number, to: number): (v: number) => number {
  if ((axis.scale ?? 'linear') === 'log') {
    if (!(axis.min > 0 && axis.max > axis.min)) throw new RangeError(`log axis '${axis.label}' needs 0 < min < max (got ${axis.min}, ${axis.max})`);
    const lo = Math.log10(axis.min);
    const hi = Math.log10(axis.max);
    return (v) => from + ((Math.log10(Math.max(v, axis.min)) - lo) / (hi - lo)) * (to - from);
  }
  if (!(axis.max > axis.min)) throw new RangeError(`axis '${axis.label}' needs min < max (got ${axis.min}, ${axis.max})`);
  return (v) => from + ((v - axis.min) / (axis.max - axis.min)) * (to - from);
}

/** Ticks at 1, 2, 5 x 10^k (linear) or 1, 2, 5 x 10^k per decade (log), inside [min, max]. */
export function ticks(axis: Axis, target = 6): number[] {
  const { min, max } = axis;
  if ((axis.scale ?? 'linear') === 'log') {
    const out: number[] = [];
    const decades = Math.log10(max / min);
    const steps = decades > 4 ? [1] : decades > 2 ? [1, 3] : [1, 2, 5];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++)
      for (const m of steps) {
        const v = m * 10 ** e;
        if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push(+v.toPrecision(12));
      }
    return out;
  }
  const raw = (max - min) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function frame(id: string, title: string, width: number, height: number, body: string): string {
  return (
    `<svg data-plot="${escapeXml(id)}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}" font-family="sans-serif" font-size="11">` +
    `<rect width="${width}" height="${height}" fill="#fff"/>` +
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(title)}</text>` +
    body +
    '</svg>'
  );
}

/** Grid, tick labels, frame and axis labels; `x` null: no x ticks or label (bar charts). */
function axes(
  x: Axis | null,
  y: Axis,
  box: { x0: number; x1: number; y0: number; y1: number },
  sx: (v: number) => number,
  sy: (v: number) => number,
): string {
  let s = '';
  for (const t of ticks(y)) {
    const py = sy(t).toFixed(1);
    s += `<line x1="${box.x0}" x2="${box.x1}" y1="${py}" y2="${py}" stroke="#e5e5e5"/>`;
    s += `<text x="${box.x0 - 5}" y="${py}" text-anchor="end" dominant-baseline="middle">${escapeXml((y.format ?? fmt)(t))}</text>`;
  }
  if (x)
    for (const t of ticks(x)) {
      const px = sx(t).toFixed(1);
      s += `<line x1="${px}" x2="${px}" y1="${box.y0}" y2="${box.y1}" stroke="#e5e5e5"/>`;
      s += `<text x="${px}" y="${box.y0 + 14}" text-anchor="middle">${escapeXml((x.format ?? fmt)(t))}</text>`;
    }
  s += `<rect x="${box.x0}" y="${box.y1}" width="${box.x1 - box.x0}" height="${box.y0 - box.y1}" fill="none" stroke="#555"/>`;
  if (x) s += `<text x="${(box.x0 + box.x1) / 2}" y="${box.y0 + 32}" text-anchor="middle">${escapeXml(x.label)}</text>`;
  const my = (box.y0 + box.y1) / 2;
  s += `<text x="14" y="${my}" text-anchor="middle" transform="rotate(-90 14 ${my})">${escapeXml(y.label)}</text>`;
  return s;
}

/** Estimated width of a legend entry at font size 11: the line, a gap, the text. */
function legendWidth(name: string): number {
  let text = 0;
  for (const ch of name) text += /[A-Z0-9]/.test(ch) ? 8 : 6.2;
  return 34 + text;
}

function legend(items: { name: string; color: string; dashed?: boolean }[], x0: number, y: number, width: number): string {
  let s = '';
  let x = x0;
  let row = 0;
  for (const it of items) {
    const w = legendWidth(it.name);
    if (x + w > x0 + width && x > x0) {
      x = x0;
      row++;
    }
    const ly = y + row * LEGEND_ROW;
    s += `<line x1="${x}" x2="${x + 18}" y1="${ly}" y2="${ly}" stroke="${it.color}" stroke-width="2.5"${it.dashed ? ' stroke-dasharray="5 3"' : ''}/>`;
    s += `<text x="${x + 22}" y="${ly}" dominant-baseline="middle">${escapeXml(it.name)}</text>`;
    x += w;
  }
  return s;
}

function legendRows(names: string[], width: number): number {
  let x = 0;
  let rows = names.length ? 1 : 0;
  for (const n of names) {
    const w = legendWidth(n);
    if (x + w > width && x > 0) {
      x = 0;
      rows++;
    }
    x += w;
  }
  return rows;
}

export function lineChart(c: LineChart): string {
  const width = c.width ?? 520;
  const shown = c.series.filter((s) => !s.hideInLegend);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const rows = legendRows(shown.map((s) => s.name), plotWidth);
  const height = (c.height ?? 380) + rows * LEGEND_ROW;
  const box = { x0: MARGIN.left, x1: width - MARGIN.right, y1: MARGIN.top, y0: height - MARGIN.bottom - rows * LEGEND_ROW };
  const sx = scaler(c.x, box.x0, box.x1);
  const sy = scaler(c.y, box.y0, box.y1);
  let body = axes(c.x, c.y, box, sx, sy);
  body += `<clipPath id="clip-${escapeXml(c.id)}"><rect x="${box.x0}" y="${box.y1}" width="${box.x1 - box.x0}" height="${box.y0 - box.y1}"/></clipPath>`;
  body += `<g clip-path="url(#clip-${escapeXml(c.id)})">`;
  if (c.diagonal) {
    const lo = Math.max(c.x.min, c.y.min);
    const hi = Math.min(c.x.max, c.y.max);
    body += `<line x1="${sx(lo).toFixed(1)}" y1="${sy(lo).toFixed(1)}" x2="${sx(hi).toFixed(1)}" y2="${sy(hi).toFixed(1)}" stroke="#999" stroke-dasharray="4 4"/>`;
  }
  for (const s of c.series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
    if (pts.length === 0) continue;
    const dash = s.dashed ? ' stroke-dasharray="6 3"' : '';
    const opacity = s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : '';
    body += `<polyline class="series" data-series="${escapeXml(s.name)}" points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.8"${dash}${opacity}/>`;
    if (s.markers) for (const p of pts) body += `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.6" fill="${s.color}"/>`;
  }
  body += '</g>';
  body += legend(shown, box.x0, box.y0 + 46, plotWidth);
  return frame(c.id, c.title, width, height, body);
}

export function barChart(c: BarChart): string {
  const width = c.width ?? 520;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const rows = c.groups.length > 1 ? legendRows(c.groups.map((g) => g.name), plotWidth) : 0;
  const height = (c.height ?? 340) + rows * LEGEND_ROW;
  const box = { x0: MARGIN.left, x1: width - MARGIN.right, y1: MARGIN.top, y0: height - MARGIN.bottom - rows * LEGEND_ROW };
  const sy = scaler(c.y, box.y0, box.y1);
  let body = axes(null, c.y, box, (v) => v, sy);
  const slot = (box.x1 - box.x0) / c.categories.length;
  const barWidth = (slot * 0.75) / c.groups.length;
  c.categories.forEach((cat, i) => {
    const cx = box.x0 + slot * (i + 0.5);
    body += `<text x="${cx.toFixed(1)}" y="${box.y0 + 14}" text-anchor="middle" font-size="${cat.length * 7 > slot ? 9 : 11}">${escapeXml(cat)}</text>`;
    c.groups.forEach((g, j) => {
      const v = g.values[i];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const x = cx - (barWidth * c.groups.length) / 2 + j * barWidth;
      const top = sy(Math.min(Math.max(v, c.y.min), c.y.max));
      body += `<rect class="bar" x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(box.y0 - top).toFixed(1)}" fill="${g.color}"><title>${escapeXml(`${cat} ${g.name}: ${fmt(v)}`)}</title></rect>`;
      const e = g.errors?.[i];
      if (e !== null && e !== undefined && e > 0) {
        const mid = (x + (barWidth - 2) / 2).toFixed(1);
        const [hi, lo] = [sy(Math.min(v + e, c.y.max)), sy(Math.max(v - e, c.y.min))];
        body += `<line x1="${mid}" x2="${mid}" y1="${hi.toFixed(1)}" y2="${lo.toFixed(1)}" stroke="#222"/>`;
        body += `<line x1="${(+mid - 4).toFixed(1)}" x2="${(+mid + 4).toFixed(1)}" y1="${hi.toFixed(1)}" y2="${hi.toFixed(1)}" stroke="#222"/>`;
        body += `<line x1="${(+mid - 4).toFixed(1)}" x2="${(+mid + 4).toFixed(1)}" y1="${lo.toFixed(1)}" y2="${lo.toFixed(1)}" stroke="#222"/>`;
      }
    });
  });
  if (c.groups.length > 1) body += legend([...c.groups], box.x0, box.y0 + 46, plotWidth);
  return frame(c.id, c.title, width, height, body);
}
