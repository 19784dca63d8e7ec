import { FeatureRowsBuilder } from './feature-rows-builder.js';
import { BLOCK_SAMPLES, type SampleBlock } from '../types.js';

/** Ground truth looked up per kept sample, in file order (see truth-reader.ts). */
export interface TruthSource {
  /** Finds the truth row of this sample id; false when there is none (truth is then abandoned). */
  match(sampleId: number): boolean;
  readonly pClick: number;
  readonly pConvGivenClick: number;
}

/**
 * Collects kept samples into blocks of BLOCK_SAMPLES and hands each full block to `onBlock` at
 * once, so a split of any size needs one block of memory. Readers push a sample's entries into
 * `rows`, then call `commitSample` (or `rows.rollbackRow()` to drop it).
 *
 * The block given to `onBlock` is a set of views on reused arrays: write or copy it before
 * returning.
 */
export class SampleBlockWriter {
  readonly rows = new FeatureRowsBuilder(BLOCK_SAMPLES, 1 << 20);
  numSamples = 0;
  numBlocks = 0;
  clicks = 0;
  conversions = 0;
  /** False once a kept sample had no truth row: the split is then prepared without truth. */
  truthComplete: boolean;

  private readonly sampleIds = new Float64Array(BLOCK_SAMPLES);
  private readonly click = new Uint8Array(BLOCK_SAMPLES);
  private readonly conversion = new Uint8Array(BLOCK_SAMPLES);
  private readonly group = new Int32Array(BLOCK_SAMPLES);
  private readonly pClick: Float32Array | null;
  private readonly pConvGivenClick: Float32Array | null;

  constructor(
    private readonly onBlock: (block: SampleBlock) => void,
    private readonly truth: TruthSource | null = null,
  ) {
    this.truthComplete = truth !== null;
    this.pClick = truth ? new Float32Array(BLOCK_SAMPLES) : null;
    this.pConvGivenClick = truth ? new Float32Array(BLOCK_SAMPLES) : null;
  }

  /** Keeps the sample whose entries were just pushed into `rows`. */
  commitSample(sampleId: number, click: number, conversion: number, group: number): void {
    const i = this.rows.commitRow();
    this.sampleIds[i] = sampleId;
    this.click[i] = click;
    this.conversion[i] = conversion;
    this.group[i] = group;
    this.clicks += click;
    this.conversions += conversion;
    this.numSamples++;
    if (this.truthComplete) {
      if (this.truth!.match(sampleId)) {
        this.pClick![i] = this.truth!.pClick;
        this.pConvGivenClick![i] = this.truth!.pConvGivenClick;
      } else {
        this.truthComplete = false;
      }
    }
    if (this.rows.count === BLOCK_SAMPLES) this.flush();
  }

  /** Emits the last, partial block. */
  finish(): void {
    if (this.rows.count > 0) this.flush();
  }

  private flush(): void {
    const n = this.rows.count;
    const block: SampleBlock = {
      ...this.rows.view(),
      sampleIds: this.sampleIds.subarray(0, n),
      click: this.click.subarray(0, n),
      conversion: this.conversion.subarray(0, n),
      group: this.group.subarray(0, n),
    };
    if (this.truthComplete) {
      block.truth = { pClick: this.pClick!.subarray(0, n), pConvGivenClick: this.pConvGivenClick!.subarray(0, n) };
    }
    this.onBlock(block);
    this.numBlocks++;
    this.rows.clear();
  }
}
