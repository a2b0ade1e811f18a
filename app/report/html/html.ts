/** Small helpers for self-contained HTML: escaping and inline SVG bars (no external assets). */

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export const num = (n: number): string => n.toLocaleString('en-US');

export { formatUsd as usd } from '../../readiness/format';

export interface BarSegment {
  readonly value: number;
  readonly color: string;
  readonly label: string;
}

/** One horizontal stacked bar, `width` px wide, scaled to `max`. */
export function svgBar(segments: readonly BarSegment[], max: number, width = 220, height = 14): string {
  let x = 0;
  const rects = segments
    .filter((s) => s.value > 0)
    .map((s) => {
      const w = max > 0 ? Math.max(1, (s.value / max) * width) : 0;
      const r = `<rect x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="${height}" fill="${s.color}"><title>${esc(s.label)}</title></rect>`;
      x += w;
      return r;
    })
    .join('');
  return `<svg class="bar" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(segments.map((s) => s.label).join(', '))}"><rect width="${width}" height="${height}" fill="#eef0f3"/>${rects}</svg>`;
}
