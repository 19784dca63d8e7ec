/**
 * The batch that the sparse side consumes: keyed jagged features, field-major, with ids already
 * hashed to embedding rows.
 *
 *   KeyedJagged for F = 2 fields over N = 3 rows:
 *     offsets (F*N + 1) = [0, 1, 1, 3,   3, 4, 6]
 *                          f0r0 f0r1 f0r2 f1r0 f1r1 f1r2
 *     field f, row r owns rows[offsets[f*N + r] .. offsets[f*N + r + 1]) and the same weights.
 *
 * A batch has two of these: one over its samples (skeleton features) and one over the distinct
 * groups (common features) its samples join to, so a user's 1,000 history ids are pooled once per
 * batch, not once per impression. A field's pooled vector for sample b is the pooling over its
 * sample part and its group part (group groupOf[b]) together.
 */
export interface KeyedJagged {
  numFields: number;
  numRows: number;
  /** numFields * numRows + 1, field-major, offsets[0] = 0, monotone. */
  offsets: Int32Array;
  /** Embedding row per entry (already hashed into the field's table). */
  rows: Int32Array;
  /** Pooling weight per entry (the feature value for weighted fields, else 1). */
  weights: Float32Array;
}

export interface Batch {
  size: number;
  sampleIds: Float64Array;
  click: Float32Array;
  conversion: Float32Array;
  /** Per-sample features, numRows = size. Fields in spec order. */
  samples: KeyedJagged;
  /** Per-group features, numRows = number of distinct groups in the batch. Fields in spec order. */
  groups: KeyedJagged;
  /** Row of `groups` for each sample, -1 when it has none. */
  groupOf: Int32Array;
}

/** What the embedding layer reads of a batch: its features, without ids or labels. */
export type FeatureBatch = Pick<Batch, 'size' | 'samples' | 'groups' | 'groupOf'>;
