import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadModel } from '../../persist/model-dir.js';
import { EXPORT_TOLERANCE, exportOnnxChecked } from '../../serve/export-check.js';
import { choiceOpt, numberOpt, parseCommand, requireString, type Options } from '../args.js';

export const EXPORT_HELP = `esmm export --model MODEL_DIR --format onnx --out model.onnx

Writes the whole model as one ONNX graph: feature hashing, embedding tables (the trained rows),
pooling and the dense towers. Inputs, for every field F of the model's spec:
  "F.ids"      int64 [n_F]    feature keys of F's entries, instance after instance
  "F.values"   float [n_F]    their values (pooling weights of weighted fields; else unused)
  "F.lengths"  int64 [batch]  entries of F per instance
Outputs pctr, pcvr, pctcvr: float [batch]. Opsets: ai.onnx 18, ai.onnx.ml 3 (LabelEncoder).
Before writing, the graph is run in onnxruntime on made-up instances and compared with the
native predictor; it is written only if they agree within ${EXPORT_TOLERANCE}.

  --format onnx          the only format (default onnx)
  --check-instances N    instances for that comparison (default 256)
`;

export const EXPORT_OPTIONS: Options = {
  model: { type: 'string', short: 'm' },
  format: { type: 'string' },
  out: { type: 'string', short: 'o' },
  'check-instances': { type: 'string' },
};

export async function exportCommand(argv: string[]): Promise<void> {
  const cmd = 'export';
  const v = parseCommand(cmd, argv, EXPORT_OPTIONS);
  if (v.help) return void process.stdout.write(EXPORT_HELP);
  const modelDir = requireString(v, 'model', cmd);
  const out = requireString(v, 'out', cmd);
  choiceOpt(v, 'format', ['onnx'] as const, 'onnx', cmd);
  const instances = numberOpt(v, 'check-instances', 256, cmd, { min: 1, max: 1 << 16, integer: true });
  const model = await loadModel(modelDir, { threads: 1, mode: 'predict' });
  try {
    const { onnx, check } = await exportOnnxChecked(model, { instances });
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, onnx);
      renameSync(tmp, out);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new Error(`cannot write ${out}: ${(e as Error).message}`);
    }
    const spec = model.config.spec;
    process.stdout.write(
      `wrote ${out} (${(onnx.length / 1e6).toFixed(2)} MB): ${model.config.kind} model, ${spec.fields.length} fields × 3 inputs, ` +
        `outputs pctr, pcvr, pctcvr\nchecked against the native predictor on ${check.instances} instances: ` +
        `max abs difference ${check.maxAbsDiff.toExponential(2)} (tolerance ${EXPORT_TOLERANCE})\n`,
    );
  } finally {
    await model.release();
  }
}
