import { BLOCK_SAMPLES, type GroupTable, type SampleBlock } from './types.js';

/** Anything training and evaluation can read block by block: a prepared split or a subset. */
export interface SampleSource {
  fieldNames: string[];
  groups: GroupTable;
  numSamples: number;
  numBlocks: number;
  readBlock(i: number): SampleBlock;
}

/**
 * The samples of `source` that `keep` selects, copied into in-memory blocks. Used for the
 * components that train on a slice (BASE's CVR net on clicked impressions, ~4% of the data):
 * the slice is small enough to hold, and then batches are full-size.
 */
export function selectSamples(
  source: SampleSource,
  keep: (block: SampleBlock, i: number) => boolean,
): SampleSource {
  const blocks: SampleBlock[] = [];
  let builder = new BlockBuilder();
  for (let b = 0; b < source.numBlocks; b++) {
    const block = source.readBlock(b);
    for (let i = 0; i < block.count; i++) {
      if (!keep(block, i)) continue;
      builder.add(block, i);
      if (builder.count === BLOCK_SAMPLES) {
        blocks.push(builder.finish());
        builder = new BlockBuilder();
      }
    }
  }
  if (builder.count > 0) blocks.push(builder.finish());
  return {
    fieldNames: source.fieldNames,
    groups: source.groups,
    numSamples: blocks.reduce((n, b) => n + b.count, 0),
    numBlocks: blocks.length,
    readBlock: (i) => {
      const b = blocks[i];
      if (!b) throw new RangeError(`block ${i} of ${blocks.length}`);
      return b;
    },
  };
}

/**
 * The samples of `source` that `keep` selects, as a view that copies them out of each block when
 * it is read: nothing is held but one count per block, so the view of a split that does not fit
 * in memory does not have to either (selectSamples copies everything once). `keep` must give the
 * same answer every time it is asked about a sample (it is asked on every read); blocks left empty
 * are skipped, so the view's block i is the i-th non-empty one.
 */
export function filterView(
  source: SampleSource,
  keep: (block: SampleBlock, i: number) => boolean,
): SampleSource {
  const blocks: number[] = [];
  let numSamples = 0;
  for (let b = 0; b < source.numBlocks; b++) {
    const block = source.readBlock(b);
    let n = 0;
    for (let i = 0; i < block.count; i++) if (keep(block, i)) n++;
    if (n > 0) blocks.push(b);
    numSamples += n;
  }
  return {
    fieldNames: source.fieldNames,
    groups: source.groups,
    numSamples,
    numBlocks: blocks.length,
    readBlock: (v) => {
      const b = blocks[v];
      if (b === undefined) throw new RangeError(`block ${v} of ${blocks.length}`);
      const block = source.readBlock(b);
      const builder = new BlockBuilder();
      for (let i = 0; i < block.count; i++) if (keep(block, i)) builder.add(block, i);
      return builder.finish();
    },
  };
}

/** Accumulates copied samples (and their entries) into one block. */
class BlockBuilder {
  count = 0;
  private readonly picks: { block: SampleBlock; i: number }[] = [];

  add(block: SampleBlock, i: number): void {
    this.picks.push({ block, i });
    this.count++;
  }

  finish(): SampleBlock {
    const n = this.picks.length;
    let entries = 0;
    for (const { block, i } of this.picks) entries += block.offsets[i + 1]! - block.offsets[i]!;
    const out: SampleBlock = {
      count: n,
      offsets: new Uint32Array(n + 1),
      fields: new Uint8Array(entries),
      keys: new Uint32Array(entries),
      values: new Float32Array(entries),
      sampleIds: new Float64Array(n),
      click: new Uint8Array(n),
      conversion: new Uint8Array(n),
      group: new Int32Array(n),
    };
    const withTruth = this.picks.every((p) => p.block.truth);
    if (withTruth) out.truth = { pClick: new Float32Array(n), pConvGivenClick: new Float32Array(n) };
    let e = 0;
    this.picks.forEach(({ block, i }, r) => {
      const s = block.offsets[i]!;
      const t = block.offsets[i + 1]!;
      out.fields.set(block.fields.subarray(s, t), e);
      out.keys.set(block.keys.subarray(s, t), e);
      out.values.set(block.values.subarray(s, t), e);
      e += t - s;
      out.offsets[r + 1] = e;
      out.sampleIds[r] = block.sampleIds[i]!;
      out.click[r] = block.click[i]!;
      out.conversion[r] = block.conversion[i]!;
      out.group[r] = block.group[i]!;
      if (out.truth && block.truth) {
        out.truth.pClick[r] = block.truth.pClick[i]!;
        out.truth.pConvGivenClick[r] = block.truth.pConvGivenClick[i]!;
      }
    });
    return out;
  }
}
