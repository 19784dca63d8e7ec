/**
 * What a model's graphs expose beyond their predictions, averaged over a split: the mean weight
 * of every MMoE/PLE gate per expert and task, and of AITM's attention per unit. A gate that has
 * collapsed onto one expert, or experts that all get the same weight, show here (a common
 * complaint about MMoE: DeepCTR #512, PaddleRec #721).
 */
import { fileOrderBatches } from '../data/batch/file-order.js';
import type { SampleSource } from '../data/sample-source.js';
import type { CvrModel } from '../models/cvr-model.js';
import { Progress } from '../util/progress.js';

/** Per component, per inspected output: the mean of each column over the split. */
export type ModelDetails = Record<string, Record<string, number[]>>;

/** Outputs that are predictions (one value per impression), not inspected. */
const PREDICTION_OUTPUTS = new Set(['pctr', 'pcvr', 'pctcvr', 'p']);

export async function inspectModel(model: CvrModel, source: SampleSource, opts: { batchSize?: number; quiet?: boolean } = {}): Promise<ModelDetails> {
  const batchSize = opts.batchSize ?? 4096;
  const sums: Record<string, Record<string, Float64Array>> = {};
  const progress = new Progress({ label: 'inspect', total: source.numSamples, unit: 'samples', quiet: opts.quiet ?? false });
  let seen = 0;
  for (const { batch } of fileOrderBatches(source, model.config.spec, batchSize)) {
    for (const [component, outputs] of await model.componentOutputs(batch)) {
      for (const [name, values] of Object.entries(outputs)) {
        if (PREDICTION_OUTPUTS.has(name)) continue;
        const width = values.length / batch.size;
        const acc = ((sums[component] ??= {})[name] ??= new Float64Array(width));
        for (let i = 0; i < batch.size; i++) for (let k = 0; k < width; k++) acc[k] = acc[k]! + values[i * width + k]!;
      }
    }
    seen += batch.size;
    progress.tick(batch.size);
  }
  progress.finish();
  const out: ModelDetails = {};
  for (const [component, outputs] of Object.entries(sums))
    out[component] = Object.fromEntries(Object.entries(outputs).map(([name, acc]) => [name, Array.from(acc, (v) => v / Math.max(1, seen))]));
  return out;
}
