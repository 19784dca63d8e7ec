#!/usr/bin/env node
/**
 * Load test of `esmm serve` over loopback, bounded in time.
 *
 *   npm run build && node bench/load-test.mjs [--seconds 10] [--rate 1000] [--threads 1] [--connections 32]
 *                                            [--model DIR] [--build dist] [--scenarios 0,2]
 *
 * Without --model it first generates a dataset and trains an ESMM with the paper's shape (23
 * Ali-CCP fields, dim 18, towers 360-200-80) into bench/.data/serve (once; reused afterwards).
 * Request bodies are real test impressions (skeleton + common features, ~220 ids each).
 *
 * Scenarios (each --seconds long, the server restarted for each):
 *   open loop:   a fixed arrival rate (--rate requests/s), latency counted from each request's
 *                scheduled send time, so a slow server cannot hide queueing (no coordinated omission)
 *   closed loop: N connections sending back to back: the throughput ceiling
 * at 1 and 16 instances per request; and, for comparison, with micro-batching off (--max-batch 1)
 * and with an idle queue held 1 ms to gather requests (--batch-wait-ms 1).
 * Prints a markdown table and writes bench/.data/serve/load-test.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    threads: { type: 'string', default: '1' },
    model: { type: 'string' },
    connections: { type: 'string', default: '32' },
    build: { type: 'string', default: 'dist' },
    /** Comma-separated indices of the scenarios to run (default: all). */
    scenarios: { type: 'string' },
  },
});
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = join(root, opts.build);
const cli = join(build, 'cli', 'main.js');
if (!existsSync(cli)) {
  console.error(`bench/load-test.mjs runs the built package (${cli} is missing): run \`npm run build\` first`);
  process.exit(2);
}
const { rawInstances } = await import(join(build, 'serve', 'testing.js'));
const { defaultSpec } = await import(join(build, 'features', 'spec.js'));
const seconds = Number(opts.seconds);
const rate = Number(opts.rate);
const work = join(root, 'bench', '.data', 'serve');
mkdirSync(work, { recursive: true });

function run(args) {
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`esmm ${args[0]} failed (${r.status})`);
}

const data = join(work, 'data');
let modelDir = opts.model;
if (!modelDir) {
  modelDir = join(work, 'model');
  if (!existsSync(join(modelDir, 'model.json'))) {
    console.error('generating 100,000 + 5,000 impressions and training an ESMM (360-200-80) on them, once ...');
    run(['generate', '--out', data, '--train', '100000', '--test', '5000', '--seed', '7', '-q']);
    run(['train', '--data', data, '--out', modelDir, '--epochs', '1', '--seed', '7', '-q']);
  }
}
if (!existsSync(join(data, 'sample_skeleton_test.csv'))) run(['generate', '--out', data, '--train', '1000', '--test', '5000', '--seed', '7', '-q']);
const { instances } = rawInstances(data, 'test', defaultSpec().fields.map((f) => f.name));
const bodiesOf = (size) => {
  const out = [];
  for (let i = 0; i + size <= instances.length && out.length < 2000; i += size) out.push(JSON.stringify({ instances: instances.slice(i, i + size) }));
  return out;
};
const bodies = { 1: bodiesOf(1), 16: bodiesOf(16) };
const meanIds = instances.reduce((a, inst) => a + Object.values(inst).reduce((b, e) => b + e.length, 0), 0) / instances.length;

async function startServer(extra) {
  const child = spawn(process.execPath, [cli, 'serve', '--model', modelDir, '--port', '0', '--threads', String(opts.threads), '-q', ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /at (http:\/\/[^/\s]+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { child, url };
}

function post(agent, url, body) {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/**
 * Requests at a fixed rate for `seconds`; latency from each request's scheduled time. At most
 * OPEN_LOOP_SOCKETS connections, opened before the clock starts (a request finding all of them
 * busy waits for one, and that wait counts).
 */
const OPEN_LOOP_SOCKETS = 64;
async function openLoop(url, list, perSecond) {
  const agent = new Agent({ keepAlive: true, maxSockets: OPEN_LOOP_SOCKETS });
  await Promise.all(Array.from({ length: OPEN_LOOP_SOCKETS }, (_, k) => post(agent, url, list[k % list.length])));
  const total = Math.round(perSecond * seconds);
  const latencies = new Float64Array(total);
  let errors = 0;
  const inflight = [];
  const start = performance.now() + 50;
  let i = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      for (; i < total && start + (i * 1000) / perSecond <= now; i++) {
        const due = start + (i * 1000) / perSecond;
        const k = i;
        inflight.push(
          post(agent, url, list[k % list.length]).then((status) => {
            latencies[k] = performance.now() - due;
            if (status !== 200) errors++;
          }),
        );
      }
      if (i < total) setTimeout(tick, 1);
      else resolve();
    };
    setTimeout(tick, 50);
  });
  await Promise.all(inflight);
  const wall = (performance.now() - start) / 1000;
  agent.destroy();
  return summarize(latencies, errors, wall);
}

/** `connections` clients sending back to back for `seconds`. */
async function closedLoop(url, list, connections) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      for (let k = c; performance.now() < until; k += connections) {
        const t = performance.now();
        const status = await post(agent, url, list[k % list.length]);
        latencies.push(performance.now() - t);
        if (status !== 200) errors++;
      }
    }),
  );
  const wall = (performance.now() - start) / 1000;
  agent.destroy();
  return summarize(Float64Array.from(latencies), errors, wall);
}

function summarize(latencies, errors, wall) {
  const sorted = Float64Array.from(latencies).sort();
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { requests: sorted.length, errors, rps: sorted.length / wall, p50: q(0.5), p99: q(0.99), max: sorted[sorted.length - 1] };
}

/** CPU seconds (user + system, all threads) the process has used so far; null off Linux. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name; 100 ticks/s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** From the server's metrics: instances and dense calls so far, and its predict latency histogram. */
async function serverTotals(url) {
  const text = await new Promise((resolve) => {
    request(`${url}/metrics`, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(b));
    }).end();
  });
  const sum = Number(/^esmm_batch_instances_sum (\S+)$/m.exec(text)[1]);
  const count = Number(/^esmm_batch_instances_count (\S+)$/m.exec(text)[1]);
  const buckets = [...text.matchAll(/^esmm_request_duration_seconds_bucket\{route="predict",le="([^"]+)"\} (\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
  return { sum, count, buckets };
}

/** Upper bound (ms) of the histogram bucket holding quantile q of the requests between two snapshots. */
function serverQuantile(before, after, q) {
  const counts = after.buckets.map(([le, n], i) => [le, n - (before.buckets[i]?.[1] ?? 0)]);
  const total = counts[counts.length - 1][1];
  const hit = counts.find(([, n]) => n >= q * total);
  return hit ? hit[0] * 1000 : NaN;
}

const scenarios = [
  { name: `open loop ${rate}/s`, size: 1, extra: [], drive: (u, l) => openLoop(u, l, rate) },
  { name: `open loop ${Math.round(rate / 4)}/s`, size: 16, extra: [], drive: (u, l) => openLoop(u, l, rate / 4) },
  { name: `closed loop ${opts.connections} conn`, size: 1, extra: [], drive: (u, l) => closedLoop(u, l, Number(opts.connections)) },
  { name: `closed loop ${opts.connections} conn`, size: 16, extra: [], drive: (u, l) => closedLoop(u, l, Number(opts.connections)) },
  { name: `closed loop ${opts.connections} conn, batching off`, size: 1, extra: ['--max-batch', '1'], drive: (u, l) => closedLoop(u, l, Number(opts.connections)) },
  { name: `open loop ${rate}/s, batching off`, size: 1, extra: ['--max-batch', '1'], drive: (u, l) => openLoop(u, l, rate) },
  { name: `open loop ${rate}/s, --batch-wait-ms 1`, size: 1, extra: ['--batch-wait-ms', '1'], drive: (u, l) => openLoop(u, l, rate) },
];

const chosen = opts.scenarios ? opts.scenarios.split(',').map((i) => scenarios[Number(i)]).filter(Boolean) : scenarios;
const results = [];
console.error(`model ${modelDir}; ${instances.length} test impressions, ${meanIds.toFixed(0)} ids each on average; ${seconds} s per scenario`);
for (const s of chosen) {
  const { child, url } = await startServer(s.extra);
  try {
    // Warm up: sessions, JIT, connections.
    await closedLoop(`${url}/v1/models/esmm:predict`, bodies[s.size].slice(0, 50), 4).catch(() => {});
    const before = await serverTotals(url);
    const cpuBefore = cpuSeconds(child.pid);
    const r = await s.drive(`${url}/v1/models/esmm:predict`, bodies[s.size]);
    const cpuAfter = cpuSeconds(child.pid);
    const after = await serverTotals(url);
    const serverCpuMs = cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) * 1000) / r.requests;
    const meanBatch = (after.sum - before.sum) / Math.max(1, after.count - before.count);
    const serverP99 = serverQuantile(before, after, 0.99);
    results.push({ scenario: s.name, instances: s.size, ...r, meanBatch, serverCpuMs, serverP99 });
    console.error(`${s.name}, ${s.size} instance(s)/request: ${JSON.stringify(results[results.length - 1])}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}

const f = (v, d = 2) => v.toFixed(d);
console.log('| scenario | instances/request | requests/s | instances/s | p50 ms | p99 ms | max ms | errors | server p99 ms ≤ | mean dense batch | server CPU ms/request |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const cpu = r.serverCpuMs === null ? 'n/a' : f(r.serverCpuMs, 3);
  console.log(
    `| ${r.scenario} | ${r.instances} | ${f(r.rps, 0)} | ${f(r.rps * r.instances, 0)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${r.errors} | ` +
      `${r.serverP99} | ${f(r.meanBatch, 1)} | ${cpu} |`,
  );
}
// Other processes on the machine change every figure above: say how busy it was.
const load = existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') : 'n/a';
console.log(`\nload average (1, 5, 15 min) at the end: ${load}`);
writeFileSync(join(work, 'load-test.json'), JSON.stringify({ seconds, rate, threads: Number(opts.threads), meanIds, load, results }, null, 2) + '\n');
