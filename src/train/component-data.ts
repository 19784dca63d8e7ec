import { selectSamples, type SampleSource } from '../data/sample-source.js';
import type { Batch } from '../data/jagged-types.js';
import type { ComponentDef } from '../models/model-kinds.js';

/** The slice of the training data a component learns from (its sample filter). */
export function sourceFor(def: ComponentDef, data: SampleSource): SampleSource {
  switch (def.filter) {
    case 'all':
      return data;
    case 'clicked':
      return selectSamples(data, (b, i) => b.click[i] === 1);
  }
}

/** The labels a component's dense net trains on, from the batch's click and conversion. */
export function labelsFor(def: ComponentDef, batch: Batch): { click: Float32Array; ctcvr: Float32Array } | { label: Float32Array } {
  switch (def.target) {
    case 'esmm':
      return { click: batch.click, ctcvr: clickAndConversion(batch) };
    case 'click':
      return { label: batch.click };
    case 'conversion':
      return { label: batch.conversion };
  }
}

function clickAndConversion(batch: Batch): Float32Array {
  const y = new Float32Array(batch.size);
  for (let i = 0; i < batch.size; i++) y[i] = batch.click[i]! * batch.conversion[i]!;
  return y;
}
