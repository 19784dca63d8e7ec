import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../test-support/cli.js';
import { findChromium, inspectPage } from './browser.js';
import { lineChart } from './svg.js';

// .ci/run installs Debian's chromium, so CI always runs these.
const skip = findChromium() ? false : 'no Chromium on this machine (apt-get install chromium)';

const chart = lineChart({
  id: 'demo',
  title: 'demo',
  x: { label: 'x', min: 0, max: 1 },
  y: { label: 'y', min: 0, max: 1 },
  series: [{ name: 'a', color: '#d62728', points: [[0, 0], [0.5, 0.8], [1, 1]] }],
});

test('a clean page: the chart is found with its size and marks, no errors, and a PNG of it', { skip }, async () => {
  const dir = tempDir('browser');
  try {
    const page = join(dir, 'clean.html');
    writeFileSync(page, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>clean</title></head><body>${chart}</body></html>`);
    const r = await inspectPage(page, { screenshots: true });
    assert.equal(r.title, 'clean');
    assert.deepEqual(r.errors, []);
    assert.equal(r.plots.length, 1);
    assert.equal(r.plots[0]!.id, 'demo');
    assert.ok(r.plots[0]!.width >= 500 && r.plots[0]!.height >= 300, JSON.stringify(r.plots[0]));
    assert.equal(r.plots[0]!.marks, 1);
    const png = r.screenshots.get('demo')!;
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    assert.equal(png.readUInt32BE(16), Math.round(2 * r.plots[0]!.width), 'width at device scale 2');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('console errors, uncaught exceptions and failed loads are all reported', { skip }, async () => {
  const dir = tempDir('browser');
  try {
    const page = join(dir, 'broken.html');
    writeFileSync(
      page,
      '<!DOCTYPE html><html><head><title>broken</title></head><body>' +
        '<img src="missing.png"><script>console.error("drawn wrong"); undefinedFunction();</script></body></html>',
    );
    const r = await inspectPage(page);
    assert.equal(r.plots.length, 0);
    assert.ok(r.errors.some((e) => e.includes('console.error: drawn wrong')), r.errors.join('\n'));
    assert.ok(r.errors.some((e) => e.startsWith('uncaught:') && e.includes('undefinedFunction')), r.errors.join('\n'));
    assert.ok(r.errors.some((e) => e.includes('missing.png')), r.errors.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing browser is a clear error', async () => {
  await assert.rejects(inspectPage('/nonexistent.html', { chromium: '/nonexistent/chromium' }), /could not start \/nonexistent\/chromium/);
});
