/**
 * A batch's features copied into SharedArrayBuffers, so that a worker thread reads the very
 * arrays this thread wrote (a copy of ~0.5 MB per 1,024-sample batch instead of a structured
 * clone on each side). The buffers are reused and grow as batches need.
 */
import type { FeatureBatch, KeyedJagged } from './jagged-types.js';

/** A KeyedJagged in shared buffers; the arrays are the first `*Length` values of each buffer. */
export interface SharedJagged {
  numFields: number;
  numRows: number;
  offsets: SharedArrayBuffer;
  offsetsLength: number;
  rows: SharedArrayBuffer;
  weights: SharedArrayBuffer;
  entries: number;
}

/** What a worker receives: structured clone passes SharedArrayBuffers by reference. */
export interface SharedFeatureBatch {
  size: number;
  samples: SharedJagged;
  groups: SharedJagged;
  groupOf: SharedArrayBuffer;
}

/** Copies batches into its reused shared buffers. */
export class SharedBatchWriter {
  private readonly buffers = new Map<string, SharedArrayBuffer>();

  /** Copies the batch's features; the result is valid until the next write. */
  write(batch: FeatureBatch): SharedFeatureBatch {
    return {
      size: batch.size,
      samples: this.jagged('samples', batch.samples),
      groups: this.jagged('groups', batch.groups),
      groupOf: this.copy('groupOf', batch.groupOf),
    };
  }

  private jagged(name: string, part: KeyedJagged): SharedJagged {
    return {
      numFields: part.numFields,
      numRows: part.numRows,
      offsets: this.copy(`${name}.offsets`, part.offsets),
      offsetsLength: part.offsets.length,
      rows: this.copy(`${name}.rows`, part.rows),
      weights: this.copy(`${name}.weights`, part.weights),
      entries: part.rows.length,
    };
  }

  private copy(name: string, values: Int32Array | Float32Array): SharedArrayBuffer {
    let buffer = this.buffers.get(name);
    if (!buffer || buffer.byteLength < values.byteLength) {
      // Grow by half again, so a slowly growing batch does not reallocate every step.
      buffer = new SharedArrayBuffer(Math.max(1024, Math.ceil(values.byteLength * 1.5 / 4) * 4));
      this.buffers.set(name, buffer);
    }
    new Uint8Array(buffer, 0, values.byteLength).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return buffer;
  }
}

/** The batch written by SharedBatchWriter.write, as views over its shared buffers. */
export function readSharedBatch(shared: SharedFeatureBatch): FeatureBatch {
  return {
    size: shared.size,
    samples: readJagged(shared.samples),
    groups: readJagged(shared.groups),
    groupOf: new Int32Array(shared.groupOf, 0, shared.size),
  };
}

function readJagged(part: SharedJagged): KeyedJagged {
  return {
    numFields: part.numFields,
    numRows: part.numRows,
    offsets: new Int32Array(part.offsets, 0, part.offsetsLength),
    rows: new Int32Array(part.rows, 0, part.entries),
    weights: new Float32Array(part.weights, 0, part.entries),
  };
}
