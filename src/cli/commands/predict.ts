import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { loadModel } from '../../persist/model-dir.js';
import { predictAll } from '../../train/predict-all.js';
import { numberOpt, optString, parseCommand, requireString, type Options } from '../args.js';
import { DATA_OPTIONS, loadSplit } from '../data-options.js';

export const PREDICT_HELP = `esmm predict --data DIR --model MODEL_DIR --out FILE.csv [--split test]

Writes sample_id,pctr,pcvr,pctcvr for every impression of the split, in file order.

  --split NAME       split to predict (default test)
  --batch-size B     prediction batch size (default 4096)
  --threads T        onnxruntime threads (default 2); with 2 or more, pooling also runs on 2 threads
  --cache-dir, --format, --strict, -q as for train
`;

export const PREDICT_OPTIONS: Options = {
  ...DATA_OPTIONS,
  model: { type: 'string', short: 'm' },
  out: { type: 'string', short: 'o' },
  split: { type: 'string' },
  'batch-size': { type: 'string' },
  threads: { type: 'string' },
};

export async function predictCommand(argv: string[]): Promise<void> {
  const cmd = 'predict';
  const v = parseCommand(cmd, argv, PREDICT_OPTIONS);
  if (v.help) return void process.stdout.write(PREDICT_HELP);
  const dataDir = requireString(v, 'data', cmd);
  const modelDir = requireString(v, 'model', cmd);
  const out = requireString(v, 'out', cmd);
  const batchSize = numberOpt(v, 'batch-size', 4096, cmd, { min: 1, max: 1 << 20, integer: true });
  const threads = numberOpt(v, 'threads', 2, cmd, { min: 1, max: 256, integer: true });
  const model = await loadModel(modelDir, { threads, mode: 'predict' });
  const tmp = `${out}.tmp-${process.pid}`;
  let fd = -1;
  try {
    const split = await loadSplit(v, dataDir, optString(v, 'split') ?? 'test', cmd);
    fd = openSync(tmp, 'w');
    writeSync(fd, 'sample_id,pctr,pcvr,pctcvr\n');
    let rows = 0;
    await predictAll(
      model,
      split,
      (p, batch) => {
        let text = '';
        for (let i = 0; i < batch.size; i++) {
          text += `${batch.sampleIds[i]},${p.pctr[i]},${p.pcvr[i]},${p.pctcvr[i]}\n`;
        }
        writeSync(fd, text);
        rows += batch.size;
      },
      { batchSize, quiet: v.quiet === true, embeddingThreads: threads >= 2 },
    );
    closeSync(fd);
    fd = -1;
    renameSync(tmp, out);
    process.stdout.write(`wrote ${rows} predictions to ${out}\n`);
  } finally {
    if (fd >= 0) closeSync(fd);
    await model.release();
  }
}
