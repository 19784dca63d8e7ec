import { loadModel } from '../../persist/model-dir.js';
import { evaluateModel, type EvalResult } from '../../train/evaluate.js';
import { inspectModel } from '../../train/inspect.js';
import { UsageError, numberOpt, optString, parseCommand, requireString, type Options } from '../args.js';
import { DATA_OPTIONS, loadSplit } from '../data-options.js';

export const EVALUATE_HELP = `esmm evaluate --data DIR --model MODEL_DIR [--split test] [--json]

Exact global AUC and log loss on a split, by the paper's protocol: pCTR vs click on all
impressions, pCVR vs conversion on clicked impressions only, pCTCVR vs click AND conversion on all
impressions. With truth files (generated data), also cvr_auc_entire_space_truth: AUC of pCVR
against conversions drawn from the true p(conversion|click) for every impression.
Also the metrics the field reports (docs/models.md, "Evaluation protocol"): cvr_auc_exposure (pCVR
vs conversion over all impressions), per-user GAUC, PCOC and ECE (10 equal-width bins) per task.

  --split NAME       split to evaluate (default test)
  --json             print one JSON object
  --details          also the mean weight per expert of every MMoE/PLE gate, per task, and of
                     AITM's attention (JSON: "details": {component: {output: [mean per column]}})
  --batch-size B     prediction batch size (default 4096)
  --threads T        onnxruntime threads (default 2); with 2 or more, pooling also runs on 2 threads
  --user-field NAME  the raw field whose id is the user of the GAUCs (default 101)
  --cache-dir, --format, --strict, -q as for train
`;

export const EVALUATE_OPTIONS: Options = {
  ...DATA_OPTIONS,
  model: { type: 'string', short: 'm' },
  split: { type: 'string' },
  json: { type: 'boolean' },
  details: { type: 'boolean' },
  'batch-size': { type: 'string' },
  threads: { type: 'string' },
  'user-field': { type: 'string' },
};

export async function evaluateCommand(argv: string[]): Promise<void> {
  const cmd = 'evaluate';
  const v = parseCommand(cmd, argv, EVALUATE_OPTIONS);
  if (v.help) return void process.stdout.write(EVALUATE_HELP);
  const dataDir = requireString(v, 'data', cmd);
  const modelDir = requireString(v, 'model', cmd);
  const batchSize = numberOpt(v, 'batch-size', 4096, cmd, { min: 1, max: 1 << 20, integer: true });
  const threads = numberOpt(v, 'threads', 2, cmd, { min: 1, max: 256, integer: true });
  const model = await loadModel(modelDir, { threads, mode: 'predict' });
  try {
    const split = await loadSplit(v, dataDir, optString(v, 'split') ?? 'test', cmd);
    const userField = optString(v, 'user-field');
    if (userField !== undefined && !split.fieldNames.includes(userField)) {
      throw new UsageError(`--user-field ${userField}: split ${split.split} has no such field (it has ${split.fieldNames.slice(0, 12).join(', ')}${split.fieldNames.length > 12 ? ', ...' : ''}): name one of them`, cmd);
    }
    const quiet = v.quiet === true || v.json === true;
    const r = await evaluateModel(model, split, {
      batchSize,
      quiet,
      embeddingThreads: threads >= 2,
      ...(userField !== undefined ? { userField } : {}),
    });
    const details = v.details === true ? await inspectModel(model, split, { batchSize, quiet }) : undefined;
    if (v.json) process.stdout.write(JSON.stringify(details ? { ...r, details } : r) + '\n');
    else process.stdout.write(formatEval(r) + (details ? formatDetails(details) : ''));
  } finally {
    await model.release();
  }
}

function formatDetails(details: Record<string, Record<string, number[]>>): string {
  const lines: string[] = [];
  for (const [component, outputs] of Object.entries(details))
    for (const [name, means] of Object.entries(outputs)) lines.push(`${`${component} ${name} (mean)`.padEnd(32)} ${means.map((m) => m.toFixed(4)).join(' ')}`);
  return lines.length > 0 ? lines.join('\n') + '\n' : 'this model exposes no gates or attention\n';
}

export function formatEval(r: EvalResult): string {
  const rows: [string, number | undefined][] = [
    ['impressions', r.impressions],
    ['clicks', r.clicks],
    ['conversions', r.conversions],
    ['CTR AUC (all impressions)', r.ctr_auc],
    ['CVR AUC (clicked impressions)', r.cvr_auc],
    ['CTCVR AUC (all impressions)', r.ctcvr_auc],
    ['CTR log loss', r.ctr_logloss],
    ['CVR log loss (clicked)', r.cvr_logloss],
    ['CTCVR log loss', r.ctcvr_logloss],
    ['CVR AUC, exposure (all impr.)', r.cvr_auc_exposure],
    [`CTR GAUC (user ${r.gauc_user_field})`, r.ctr_gauc],
    ['CVR GAUC (clicked)', r.cvr_gauc],
    ['CTCVR GAUC', r.ctcvr_gauc],
    ['CTR PCOC', r.ctr_pcoc],
    ['CVR PCOC (clicked)', r.cvr_pcoc],
    ['CTCVR PCOC', r.ctcvr_pcoc],
    ['CTR ECE', r.ctr_ece],
    ['CVR ECE (clicked)', r.cvr_ece],
    ['CTCVR ECE', r.ctcvr_ece],
    ['CVR AUC, entire space (truth)', r.cvr_auc_entire_space_truth],
    ['pCVR MAE vs truth, clicked', r.pcvr_mae_truth_clicked],
    ['pCVR MAE vs truth, unclicked', r.pcvr_mae_truth_unclicked],
  ];
  return (
    rows
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${k.padEnd(32)} ${Number.isInteger(x) ? x : (x as number).toFixed(5)}`)
      .join('\n') + '\n'
  );
}
