// A stacked bar chart as inline SVG, with a legend and the same figures as a table for screen
// readers and keyboard users. Amounts become numbers here only to compute pixel heights; every
// figure shown is formatted from its decimal string.
import { el, money } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
/** The least height of a bar that is not zero, in pixels: a small day stays visible beside a large one. */
export const MIN_BAR_PX = 3;

/** Colours with at least 3:1 contrast against the white card, told apart by more than hue. */
export const PALETTE = ['#1f5fa8', '#c2410c', '#0f766e', '#6d28d9', '#be185d', '#4d7c0f', '#92400e', '#475569'];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The smallest 1, 2, 4, 5 or 8 × 10^k at or above value: quarters of it are round figures. */
function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 4, 5, 8, 10].map((m) => m * power).find((top) => top >= value * (1 - 1e-9));
}

/**
 * labels: ["Nov 1", ...] (one per bar); series: [{ name, amounts: [decimal string per bar] }];
 * groupLabel names the series in the legend and the table ("Model"), bucketLabel the bars ("Day").
 * Returns a <figure> holding the SVG, a legend and a table of the same data. width is the
 * drawing's width in CSS pixels (the container's), so that text keeps its size on a phone and
 * on a wide screen alike.
 */
export function stackedBarChart({ title, labels, series, currency, width = 640, groupLabel = 'Models', bucketLabel = 'Day' }) {
  const height = 240;
  const pad = { top: 12, right: 8, bottom: 28, left: 64 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + Number(s.amounts[i] ?? 0), 0));
  const max = niceCeiling(Math.max(...totals, 0) || 0.01);
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-svg-title', class: 'chart' });
  chart.append(svg('title', { id: 'chart-svg-title' }, title));

  for (let k = 0; k <= 4; k++) {
    const y = pad.top + plotH - (plotH * k) / 4;
    chart.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: 'gridline' }));
    chart.append(svg('text', { x: pad.left - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, money(((max * k) / 4).toFixed(9), currency)));
  }
  const slot = plotW / Math.max(labels.length, 1);
  // As many axis labels as fit side by side at 12px text (about 7px a character), evenly spaced.
  const labelPx = Math.max(64, Math.max(...labels.map((l) => l.length)) * 7 + 12);
  const labelEvery = Math.ceil(labels.length / Math.max(2, Math.floor(plotW / labelPx)));
  labels.forEach((d, i) => {
    const x = pad.left + i * slot + slot * 0.15;
    let y = pad.top + plotH;
    series.forEach((s, j) => {
      const value = Number(s.amounts[i] ?? 0);
      if (value <= 0) return;
      const h = Math.max((value / max) * plotH, MIN_BAR_PX);
      y -= h;
      const bar = svg('rect', { x, y, width: slot * 0.7, height: h, fill: PALETTE[j % PALETTE.length] });
      bar.append(svg('title', {}, `${d} · ${s.name}: ${money(s.amounts[i], currency)}`));
      chart.append(bar);
    });
    if (i % labelEvery === 0) chart.append(svg('text', { x: x + slot * 0.35, y: height - 8, class: 'axis', 'text-anchor': 'middle' }, d));
  });

  const legend = el(
    'ul',
    { class: 'legend', 'aria-label': groupLabel },
    series.map((s, j) => el('li', {}, swatch(PALETTE[j % PALETTE.length]), s.name)),
  );
  const table = el(
    'table',
    {},
    el('caption', { class: 'visually-hidden' }, title),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, bucketLabel), series.map((s) => el('th', { scope: 'col' }, s.name)))),
    el(
      'tbody',
      {},
      labels.map((d, i) => el('tr', {}, el('th', { scope: 'row' }, d), series.map((s) => el('td', { class: 'num' }, money(s.amounts[i] ?? '0', currency))))),
    ),
  );
  const details = el('details', {}, el('summary', {}, 'Show the figures as a table'), el('div', { class: 'scroll' }, table));
  const figure = el('figure', { class: 'chart-figure' });
  figure.append(chart, legend, details);
  return figure;
}

function swatch(colour) {
  const box = svg('svg', { width: 12, height: 12, 'aria-hidden': 'true', class: 'swatch' });
  box.append(svg('rect', { width: 12, height: 12, rx: 2, fill: colour }));
  return box;
}
