/**
 * A dependency-free SVG bar chart of the benchmark: one group of horizontal
 * bars per case, each bar scaled to the fastest library in its group (the
 * cases differ by orders of magnitude, so one shared axis would hide most of
 * them) and labelled with its ops/s.
 * @module
 */

/** One case: its title and each library's ops/s (and a note), in display order. */
export interface ChartGroup {
  title: string;
  bars: { name: string; opsPerSecond: number; note?: string }[];
}

const COLORS = ['#1f6feb', '#8250df', '#bf8700', '#cf222e', '#1a7f37', '#57606a'];
const WIDTH = 760;
const LABEL = 110; // library names
const BAR_AREA = 470;
const BAR = 16;
const GAP = 4;
const TITLE = 26;
const GROUP_GAP = 14;

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Formats ops/s for a label: 1,234,567 → "1.23M", 45,678 → "45.7k". */
export function shortOps(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${(n / 1e3).toPrecision(3)}k`;
  return n.toPrecision(3);
}

/** Renders the chart as a standalone SVG document. */
export function renderChart(title: string, subtitle: string, groups: ChartGroup[]): string {
  const names = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.name)))];
  const color = (name: string) => COLORS[names.indexOf(name) % COLORS.length] as string;
  const out: string[] = [];
  let y = 56;
  for (const group of groups) {
    out.push(
      `<text x="12" y="${y + 16}" font-weight="600" font-size="14">${escape(group.title)}</text>`,
    );
    y += TITLE;
    const max = Math.max(...group.bars.map((b) => b.opsPerSecond));
    for (const bar of group.bars) {
      const width = max > 0 ? Math.max(1, (bar.opsPerSecond / max) * BAR_AREA) : 1;
      const note = bar.note === undefined ? '' : ` (${bar.note})`;
      out.push(
        `<text x="${LABEL - 8}" y="${y + 12}" text-anchor="end">${escape(bar.name)}</text>`,
        `<rect x="${LABEL}" y="${y}" width="${width.toFixed(1)}" height="${BAR}" rx="2" fill="${color(bar.name)}"/>`,
        `<text x="${(LABEL + width + 6).toFixed(1)}" y="${y + 12}">${shortOps(bar.opsPerSecond)} ops/s${escape(note)}</text>`,
      );
      y += BAR + GAP;
    }
    y += GROUP_GAP;
  }
  const height = y + 8;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12" fill="#1f2328">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="16" font-weight="700">${escape(title)}</text>`,
    `<text x="12" y="42" fill="#57606a">${escape(subtitle)}</text>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
