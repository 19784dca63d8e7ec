/**
 * The ONNX export checked against the native predictor: the exported graph (persist/onnx-export.ts)
 * runs in onnxruntime on made-up instances and must give what Predictor gives for the same model.
 * It sits in serve/ because it runs the Predictor; persist/ stays below serve/.
 */
import ort from 'onnxruntime-node';
import type { CvrModel } from '../models/cvr-model.js';
import { PREDICTION_OUTPUTS, exportOnnx, onnxFeeds } from '../persist/onnx-export.js';
import { Predictor } from './predictor.js';
import { syntheticInstances } from './synthetic-instances.js';

/** The export matches the native predictor to this much (float32 towers, float64 pooling). */
export const EXPORT_TOLERANCE = 1e-5;

export interface ExportCheck {
  instances: number;
  /** Largest |onnx - native| over pctr, pcvr and pctcvr. */
  maxAbsDiff: number;
}

/**
 * Runs the exported graph in onnxruntime on made-up instances (most ids hitting trained rows) and
 * compares it with the native predictor of the same model.
 */
export async function checkOnnxExport(onnx: Uint8Array, model: CvrModel, opts: { instances?: number; seed?: number } = {}): Promise<ExportCheck> {
  const count = opts.instances ?? 256;
  // Not released here: releasing a predictor releases its model, which belongs to the caller.
  const native = Predictor.fromModel(model, { limits: { maxInstances: count } });
  const rows = native.parse(syntheticInstances(model, count, opts.seed ?? 1));
  const expected = await native.predictRows(rows);
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(onnxFeeds(rows, model.config.spec))) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const out = await session.run(feeds);
    let maxAbsDiff = 0;
    for (const task of PREDICTION_OUTPUTS) {
      const got = out[task]!.data as Float32Array;
      const want = expected[task];
      if (got.length !== want.length) throw new Error(`the exported graph gave ${got.length} ${task} values for ${want.length} instances`);
      for (let i = 0; i < got.length; i++) {
        const d = Math.abs(got[i]! - want[i]!);
        // NaN fails every comparison: count it as an infinite difference.
        maxAbsDiff = d <= maxAbsDiff ? maxAbsDiff : Number.isNaN(d) ? Infinity : d;
      }
    }
    return { instances: count, maxAbsDiff };
  } finally {
    await session.release();
  }
}

/** exportOnnx, checked against the native predictor; throws when they differ by more than EXPORT_TOLERANCE. */
export async function exportOnnxChecked(model: CvrModel, opts: { instances?: number; seed?: number } = {}): Promise<{ onnx: Uint8Array; check: ExportCheck }> {
  const onnx = exportOnnx(model);
  const check = await checkOnnxExport(onnx, model, opts);
  if (!(check.maxAbsDiff <= EXPORT_TOLERANCE)) {
    throw new Error(
      `the exported ONNX graph of this '${model.config.kind}' model differs from the native predictor by ${check.maxAbsDiff} ` +
        `(tolerance ${EXPORT_TOLERANCE}) on ${check.instances} instances; the export does not know how this kind combines its components`,
    );
  }
  return { onnx, check };
}
