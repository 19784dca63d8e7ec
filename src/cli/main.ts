#!/usr/bin/env node
import { DataError } from '../data/types.js';
import { UsageError } from './args.js';
import { demoCommand } from './commands/demo.js';
import { evaluateCommand } from './commands/evaluate.js';
import { experimentCommand } from './commands/experiment.js';
import { generateCommand } from './commands/generate.js';
import { predictCommand } from './commands/predict.js';
import { prepareCommand } from './commands/prepare.js';
import { trainCommand } from './commands/train.js';
import { serveCommand } from './commands/serve.js';
import { exportCommand } from './commands/export.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; about: string }> = {
  demo: { run: demoCommand, about: 'generate data, train BASE and ESMM, print the comparison' },
  generate: { run: generateCommand, about: 'write a simulated dataset in the raw Ali-CCP layout' },
  prepare: { run: prepareCommand, about: 'convert raw splits into the binary training cache' },
  train: { run: trainCommand, about: 'train ESMM (or BASE and the other Table 2 models) and save it' },
  evaluate: { run: evaluateCommand, about: 'exact CTR / CVR / CTCVR AUC and log loss of a saved model' },
  predict: { run: predictCommand, about: 'write pCTR, pCVR, pCTCVR for every impression of a split' },
  experiment: { run: experimentCommand, about: "the paper's Table 2: all seven models, repeated runs, report.html" },
  serve: { run: serveCommand, about: 'serve a model over HTTP (TensorFlow Serving REST API)' },
  export: { run: exportCommand, about: 'write a model as one ONNX graph (embeddings included)' },
};

function usage(): string {
  return (
    'usage: esmm <command> [options]   (esmm <command> --help for its options)\n\n' +
    Object.entries(COMMANDS)
      .map(([name, c]) => `  ${name.padEnd(10)} ${c.about}`)
      .join('\n') +
    '\n'
  );
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`esmm: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`esmm ${name}: ${e.message}\n(see 'esmm ${name} --help')\n`);
      return 2;
    }
    if (e instanceof DataError) {
      process.stderr.write(`esmm ${name}: bad input: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`esmm ${name}: ${(e as Error).message}\n`);
    if (process.env.ESMM_DEBUG) process.stderr.write(((e as Error).stack ?? '') + '\n');
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
