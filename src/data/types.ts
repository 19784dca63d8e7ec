/**
 * The seam between the readers (raw Ali-CCP, PaddleRec, CSV) and training.
 *
 * Readers turn any supported input into a prepared split: a list of sample blocks plus one group
 * table. Feature ids are stored as 32-bit keys, not yet hashed into embedding rows, so a prepared
 * split does not depend on the feature spec. Fields are stored as small integers that index the
 * split's own `fieldNames` list (the raw field ids, e.g. "205", "109_14").
 *
 *   block (row-major jagged, count = 3 samples):
 *     offsets = [0, 2, 2, 5]          sample 0 -> entries 0..1, sample 1 -> none, sample 2 -> 2..4
 *     fields  = [f, f, f, f, f]       index into fieldNames
 *     keys    = [k, k, k, k, k]       feature id (uint32; see featureKey below)
 *     values  = [v, v, v, v, v]       feature value (1 where the format has none)
 *     group   = [7, 7, -1]            row of the group table joined to each sample (-1: none)
 */

/** Up to this many samples per block: the unit that training reads and shuffles. */
export const BLOCK_SAMPLES = 65536;

/** Row-major jagged feature entries: row r owns entries offsets[r] .. offsets[r+1]-1. */
export interface FeatureRows {
  /** Number of rows. */
  count: number;
  /** count + 1 entries; offsets[0] = 0 and offsets[count] = total entries. */
  offsets: Uint32Array;
  /** Field index per entry (into the split's fieldNames). */
  fields: Uint8Array;
  /** Feature key per entry. */
  keys: Uint32Array;
  /** Feature value per entry (finite). */
  values: Float32Array;
}

/** One block of impressions with their own (skeleton) features. */
export interface SampleBlock extends FeatureRows {
  /** sample_id as a number (line number where the format has no id). */
  sampleIds: Float64Array;
  /** 0/1 click label y. */
  click: Uint8Array;
  /** 0/1 conversion label z (always 0 where click is 0: illegal rows never get here). */
  conversion: Uint8Array;
  /** Index into the group table (the joined common features), -1 when the sample has none. */
  group: Int32Array;
  /** Present when the data directory has truth_{split}.csv (generated data). */
  truth?: BlockTruth;
}

/**
 * Shared feature rows (Ali-CCP common features): each group is joined to many samples, so its
 * features are stored and pooled once. Formats without common features have an empty table.
 */
export type GroupTable = FeatureRows;

/** The group table of samples that join none (instances sent for prediction). Never written to. */
export const NO_GROUPS: GroupTable = {
  count: 0,
  offsets: new Uint32Array(1),
  fields: new Uint8Array(0),
  keys: new Uint32Array(0),
  values: new Float32Array(0),
};

/** Kinds of bad input, counted separately in every report. */
export type InputProblemKind =
  | 'malformed_line' // wrong number of columns, unparseable number, empty required column
  | 'bad_label' // click or conversion not 0/1
  | 'illegal_label' // click=0 and conversion=1 (y=0, z=1): dropped
  | 'feature_num_mismatch' // feature_num differs from the number of entries in feature_list
  | 'bad_feature' // an entry that is not field 0x02 id 0x03 value, or a non-finite value
  | 'unknown_common_feature_index' // a sample whose common_feature_index has no row: kept, without common features (LEFT JOIN)
  | 'duplicate_common_feature_index' // a second row for the same index: the first one is kept
  | 'line_too_long' // a line beyond the documented size limit: rejected without buffering it
  | 'too_many_fields'; // more than 255 distinct field names in one split

/** What a reader reports about one input file. */
export interface InputReport {
  file: string;
  /** Lines read (data lines, not counting a header). */
  lines: number;
  /** Rows kept. */
  kept: number;
  /** Count per problem kind (kinds with zero omitted). */
  problems: Partial<Record<InputProblemKind, number>>;
  /** First few occurrences per kind: line number (1-based, as an editor shows it) and detail. */
  examples: Partial<Record<InputProblemKind, { line: number; detail: string }[]>>;
}

/** Thrown in --strict mode at the first problem, and for unreadable input. */
export class DataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly kind: InputProblemKind | 'io',
    detail: string,
  ) {
    super(`${file}:${line}: ${kind}: ${detail}`);
    this.name = 'DataError';
  }
}

/** Key of a padding id ("-1", the seed's convention): it pools to nothing, like a zero vector. */
export const PADDING_KEY = 0xffffffff;

/** Ground truth written by the simulator (truth_{split}.csv), aligned with a block's samples. */
export interface BlockTruth {
  pClick: Float32Array;
  pConvGivenClick: Float32Array;
}
