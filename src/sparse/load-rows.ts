/**
 * Loading table rows ahead of the work on them: the loads of one pass over many rows do not depend
 * on each other, so the CPU overlaps their cache and TLB misses, where inside an arithmetic loop
 * each row's misses wait behind the work on the row before. Pooling (EmbeddingCollection) and the
 * sparse optimizer (TableSlots) call this before they use the rows they located.
 */

/** Where callers store what loadRows() returns, so that the compiler cannot drop the loads. */
export const loadSink = { value: 0 };

/**
 * Loads the first and last value (a row of `dim` floats may straddle two cache lines) of every
 * row at offsets at[from, to) of `data`, and returns their sum; negative offsets (rows never
 * trained) are skipped.
 */
export function loadRows(data: Float32Array, at: Int32Array, from: number, to: number, dim: number): number {
  const last = dim - 1;
  let sum = 0;
  for (let i = from; i < to; i++) {
    const o = at[i]!;
    if (o >= 0) sum += data[o]! + data[o + last]!;
  }
  return sum;
}
