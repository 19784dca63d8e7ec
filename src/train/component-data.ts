import { BatchBuilder } from '../data/batch/batcher.js';
import { selectSamples, type SampleSource } from '../data/sample-source.js';
import type { SampleBlock } from '../data/types.js';
import type { Component } from '../models/component.js';
import type { CvrModel } from '../models/cvr-model.js';
import type { ComponentDef, SampleFilter } from '../models/definition.js';
import { Rng } from '../util/rng.js';

/**
 * The slice of the training data a component learns from: its filter, then its sampling
 * (models/definition.ts). Samplings that need a trained component (UNBIAS's pCTR) are applied by
 * `trainingSource`; this one is synchronous and needs nothing but the data.
 */
export function sourceFor(def: ComponentDef, data: SampleSource): SampleSource {
  const s = def.sampling;
  switch (s.kind) {
    case 'none':
      return filtered(def.filter, data);
    case 'unclicked-negatives': {
      const rng = new Rng(s.seed);
      const passes = filterTest(def.filter);
      return selectSamples(data, (b, i) => passes(b, i) && (b.click[i] === 1 || rng.next() < s.rate));
    }
    case 'copy-conversions':
      return copyConversions(filtered(def.filter, data), s.copies);
    case 'reject-by-pctr':
      throw new Error(
        `component '${def.name}' samples by the pCTR of the trained component '${s.ctrComponent}': its data comes from trainingSource(def, data, model)`,
      );
  }
}

/**
 * The slice a component trains on once the components before it are trained: what sourceFor
 * gives, and for UNBIAS the rejection sampling by the pCTR of the model's trained CTR component.
 */
export async function trainingSource(def: ComponentDef, data: SampleSource, model: CvrModel): Promise<SampleSource> {
  const s = def.sampling;
  if (s.kind !== 'reject-by-pctr') return sourceFor(def, data);
  const slice = filtered(def.filter, data);
  const pctr = await predictPctr(model.component(s.ctrComponent), slice, model);
  const accept = rejectByPctr(pctr, s.quantile, new Rng(s.seed));
  // selectSamples asks about every sample once, in block order: the same order as `accept`.
  let next = 0;
  const kept = selectSamples(slice, () => accept[next++] === 1);
  if (next !== accept.length) throw new Error(`UNBIAS sampling saw ${next} samples of ${accept.length}`);
  return kept;
}

/**
 * UNBIAS: clicked impressions are a sample of the entire impression space drawn with probability
 * pCTR(x), so keeping each with probability min(1, c / pCTR(x)) leaves a sample whose density is
 * c · p(x), the entire-space distribution, wherever pCTR(x) >= c (below c an impression is always
 * kept and stays under-represented). c is the `quantile` of pCTR over the clicked impressions:
 * a lower quantile is exact over more of the space and keeps fewer samples. Returns 1 per kept
 * sample, in the order of `pctr`.
 */
export function rejectByPctr(pctr: Float32Array, quantile: number, rng: Rng): Uint8Array {
  const accept = new Uint8Array(pctr.length);
  if (pctr.length === 0) return accept;
  const sorted = pctr.slice().sort();
  const c = sorted[Math.min(sorted.length - 1, Math.floor(quantile * (sorted.length - 1)))]!;
  for (let i = 0; i < pctr.length; i++) accept[i] = rng.next() < Math.min(1, c / pctr[i]!) ? 1 : 0;
  return accept;
}

function filterTest(filter: SampleFilter): (b: SampleBlock, i: number) => boolean {
  switch (filter) {
    case 'all':
      return () => true;
    case 'clicked':
      return (b, i) => b.click[i] === 1;
  }
}

function filtered(filter: SampleFilter, data: SampleSource): SampleSource {
  switch (filter) {
    case 'all':
      return data;
    case 'clicked':
      return selectSamples(data, filterTest(filter));
  }
}

/** Samples per chunk when copies are interleaved with their originals (see copyConversions). */
const COPY_CHUNK = 4096;

/**
 * Every conversion `copies` times, every other sample once, with the copies spread evenly over
 * the result. selectSamples packs samples into blocks in the order it reads them, and the trainer
 * shuffles only within a block; so each chunk of COPY_CHUNK samples is read once whole and then
 * copies - 1 more times for its conversions, and every block of the result holds about the same
 * share of copies (appending them after all originals would give blocks of conversions only).
 */
function copyConversions(source: SampleSource, copies: number): SampleSource {
  if (copies === 1) return source;
  const reads: { block: number; start: number; end: number; conversionsOnly: boolean }[] = [];
  let numSamples = 0;
  for (let b = 0; b < source.numBlocks; b++) {
    const block = source.readBlock(b);
    for (let start = 0; start < block.count; start += COPY_CHUNK) {
      const end = Math.min(block.count, start + COPY_CHUNK);
      for (let pass = 0; pass < copies; pass++) reads.push({ block: b, start, end, conversionsOnly: pass > 0 });
      numSamples += end - start;
      for (let i = start; i < end; i++) numSamples += (copies - 1) * block.conversion[i]!;
    }
  }
  // selectSamples reads virtual block v and then asks about each of its samples: `read` is v's.
  let read = reads[0]!;
  const virtual: SampleSource = {
    fieldNames: source.fieldNames,
    groups: source.groups,
    numSamples,
    numBlocks: reads.length,
    readBlock: (v) => {
      read = reads[v]!;
      return source.readBlock(read.block);
    },
  };
  return selectSamples(virtual, (b, i) => i >= read.start && i < read.end && (!read.conversionsOnly || b.conversion[i] === 1));
}

/** pCTR of every sample of `source` in block order, from a trained component (no dropout). */
async function predictPctr(ctr: Component, source: SampleSource, model: CvrModel): Promise<Float32Array> {
  const out = new Float32Array(source.numSamples);
  const builder = new BatchBuilder(model.config.spec, source.fieldNames, source.groups);
  const batchSize = 4096;
  let at = 0;
  for (let b = 0; b < source.numBlocks; b++) {
    const block = source.readBlock(b);
    const positions = Int32Array.from({ length: block.count }, (_, i) => i);
    for (let s = 0; s < block.count; s += batchSize) {
      const batch = builder.build(block, positions, s, Math.min(block.count, s + batchSize));
      const p = await ctr.predict(batch);
      const pctr = p.p ?? p.pctr;
      if (!pctr) throw new Error(`component '${ctr.def.name}' predicts no pCTR (outputs: ${Object.keys(p).join(', ')})`);
      out.set(pctr, at);
      at += batch.size;
    }
  }
  return out;
}
