/**
 * Values of the count-carrying fields (the `_14` histories and the 508/509/702/853 combinations):
 * the natural log of the count, written as the real logs write it (0.69315 for 2, 1.94591 for 7,
 * at most 5 decimals, no trailing zeros, at least one decimal). Single-valued fields carry 1.0.
 * Both the numbers and their bytes are computed once, so the writers never format a float.
 */

/** Counts are capped here (ln 4095 ≈ 8.3; real history counts stay far below). */
export const MAX_COUNT = 4095;

/** ln(count) for count 0..MAX_COUNT, with ln 0 taken as 0 ("no history"). */
export const LOG_COUNT = new Float64Array(MAX_COUNT + 1);

/** The bytes of each ln(count) as written; index 0 is unused. */
export const LOG_COUNT_BYTES: readonly Uint8Array[] = buildLogCountBytes();

/** The value of single-valued features. */
export const ONE_VALUE_BYTES = new Uint8Array(Buffer.from('1.0', 'latin1'));

/** ln(count) formatted like the real data: 5 decimals at most, trailing zeros dropped, "x.0" for integers. */
export function formatLogCount(count: number): string {
  const text = String(Number(Math.log(count).toFixed(5)));
  return text.includes('.') ? text : text + '.0';
}

function buildLogCountBytes(): Uint8Array[] {
  const out: Uint8Array[] = [new Uint8Array(0)];
  for (let c = 1; c <= MAX_COUNT; c++) {
    LOG_COUNT[c] = Math.log(c);
    out.push(new Uint8Array(Buffer.from(formatLogCount(c), 'latin1')));
  }
  return out;
}
