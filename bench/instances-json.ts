/**
 * Reading a predict request body: the byte-level fast path (InstanceParser.parseJson) against the
 * general path (JSON.parse, then InstanceParser.parse), on the same bodies in the same run.
 *
 *   node dist-bench/bench/instances-json.js [--instances 1] [--rounds 5] [--bodies 2000]
 *
 * Bodies are generated test impressions of the paper's 23 fields (skeleton + common features,
 * ~220 ids each): the load test's data (bench/.data/serve/data), generated as it does when missing.
 * Prints µs per body (min/median/max over rounds), V8 young-generation collections per 1,000
 * bodies (the garbage a path leaves), and the ratio general / fast.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { generateDataset } from '../src/simulate/generate.js';
import { defaultSpec } from '../src/features/spec.js';
import { InstanceParser } from '../src/serve/instances.js';
import { rawInstances } from '../src/serve/testing.js';
import { fmtSpread, log, spread } from './lib.js';

const { values } = parseArgs({
  options: {
    instances: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    bodies: { type: 'string', default: '2000' },
    data: { type: 'string', default: 'bench/.data/serve/data' },
  },
});
const perBody = Number(values.instances);
const rounds = Number(values.rounds);
const spec = defaultSpec();
const dir = values.data!;
if (!existsSync(join(dir, 'sample_skeleton_test.csv'))) {
  log(`generating test impressions into ${dir}`);
  await generateDataset({ outDir: dir, train: 100_000, test: 5000, seed: 7 });
}
const { instances } = rawInstances(dir, 'test', spec.fields.map((f) => f.name));
const encoder = new TextEncoder();
const bodies: Uint8Array[] = [];
for (let i = 0; i + perBody <= instances.length && bodies.length < Number(values.bodies); i += perBody) {
  bodies.push(encoder.encode(JSON.stringify({ instances: instances.slice(i, i + perBody) })));
}
const parser = new InstanceParser(spec);
const decoder = new TextDecoder('utf-8', { fatal: true });
let sink = 0;

const paths: Record<string, (b: Uint8Array) => number> = {
  fast: (b) => parser.parseJson(b)!.count,
  general: (b) => parser.parse((JSON.parse(decoder.decode(b)) as { instances: unknown }).instances).count,
};
for (const b of bodies.slice(0, 10)) if (paths.fast!(b) !== paths.general!(b)) throw new Error('the two paths disagree');

let scavenges = 0;
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
});
observer.observe({ entryTypes: ['gc'] });
const tick = () => new Promise((r) => setTimeout(r, 20)); // lets the observer report the round's collections

const us: Record<string, number[]> = { fast: [], general: [] };
const gcs: Record<string, number[]> = { fast: [], general: [] };
for (let r = 0; r < rounds + 1; r++) {
  for (const [name, run] of Object.entries(paths)) {
    await tick();
    const s0 = scavenges;
    const t0 = process.hrtime.bigint();
    for (const b of bodies) sink += run(b);
    const t1 = process.hrtime.bigint();
    await tick();
    if (r === 0) continue; // warm-up round
    us[name]!.push(Number(t1 - t0) / 1e3 / bodies.length);
    gcs[name]!.push(((scavenges - s0) * 1000) / bodies.length);
  }
}
observer.disconnect();
const meanBytes = bodies.reduce((a, b) => a + b.length, 0) / bodies.length;
console.log(`${bodies.length} bodies of ${perBody} instance(s), ${(meanBytes / 1024).toFixed(1)} KB each on average; ${rounds} rounds`);
console.log('| path | µs per body | young-generation GCs per 1,000 bodies |');
console.log('|---|---|---|');
for (const name of ['general', 'fast']) console.log(`| ${name} | ${fmtSpread(spread(us[name]!), 1)} | ${fmtSpread(spread(gcs[name]!), 1)} |`);
console.log(`ratio general / fast (median µs): ${(spread(us.general!).median / spread(us.fast!).median).toFixed(2)}×`);
if (sink < 0) console.log(sink);
