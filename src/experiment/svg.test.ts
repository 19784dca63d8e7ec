import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barChart, escapeXml, lineChart, ticks } from './svg.js';

test('ticks: 1-2-5 steps on linear axes, decades on log axes', () => {
  assert.deepEqual(ticks({ label: '', min: 0, max: 1 }), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(ticks({ label: '', min: 0.5, max: 1 }), [0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  assert.deepEqual(ticks({ label: '', min: 1e-6, max: 1, scale: 'log' }), [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1]);
  assert.deepEqual(ticks({ label: '', min: 0.01, max: 1, scale: 'log' }), [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]);
});

test('a line chart: one polyline per series, names escaped, a legend, points outside clipped', () => {
  const svg = lineChart({
    id: 'roc',
    title: 'ROC <CVR>',
    x: { label: 'fpr', min: 0, max: 1 },
    y: { label: 'tpr', min: 0, max: 1 },
    series: [
      { name: 'A&B', color: '#111', points: [[0, 0], [1, 1]] },
      { name: 'hidden', color: '#222', points: [[0, 0.5], [2, NaN]], hideInLegend: true, markers: true },
    ],
    diagonal: true,
  });
  assert.ok(svg.startsWith('<svg data-plot="roc"'));
  assert.equal(svg.match(/<polyline/g)!.length, 2);
  assert.equal(svg.match(/<circle/g)!.length, 1, 'the NaN point is left out');
  assert.ok(svg.includes('ROC &lt;CVR&gt;') && svg.includes('A&amp;B'));
  assert.ok(!svg.includes('>hidden<'), 'hidden series have no legend entry');
  assert.throws(() => lineChart({ id: 'x', title: '', x: { label: 'x', min: 0, max: 1, scale: 'log' }, y: { label: 'y', min: 0, max: 1 }, series: [] }), /log axis 'x' needs 0 < min < max/);
});

test('a bar chart: one bar per category and group, error bars, no bar for a missing value', () => {
  const svg = barChart({
    id: 'mae',
    title: 'MAE',
    categories: ['BASE', 'ESMM'],
    groups: [
      { name: 'clicked', color: '#0a0', values: [0.1, 0.05], errors: [0.01, null] },
      { name: 'unclicked', color: '#a00', values: [0.2, null] },
    ],
    y: { label: 'MAE', min: 0, max: 0.3 },
  });
  assert.equal(svg.match(/<rect class="bar"/g)!.length, 3);
  assert.equal(svg.match(/stroke="#222"/g)!.length, 3, 'one error bar: a stem and two caps');
  assert.equal(escapeXml(`a<b>&"c'`), 'a&lt;b&gt;&amp;&quot;c&#39;');
});
