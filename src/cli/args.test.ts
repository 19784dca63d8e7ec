import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError, choiceOpt, layersOpt, numberOpt, parseCommand, requireString, type Options } from './args.js';

const OPTIONS: Options = {
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
};

/** The usage error `run` throws, as its message. */
function usage(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${String(e)}`);
    assert.equal(e.command, 'train');
    return e.message;
  }
  assert.fail('no usage error');
}

test('parseCommand: values, flags and --help; mistakes say what to type instead', () => {
  assert.deepEqual({ ...parseCommand('train', ['--epochs', '2', '-q', '--lr=0.1'], OPTIONS) }, { epochs: '2', quiet: true, lr: '0.1' });
  assert.equal(parseCommand('train', ['-h'], OPTIONS).help, true);
  assert.equal(usage(() => parseCommand('train', ['--epoch', '2'], OPTIONS)), "Unknown option '--epoch'; did you mean --epochs?");
  assert.equal(usage(() => parseCommand('train', ['--batchsize', '2'], OPTIONS)), "Unknown option '--batchsize'; did you mean --batch-size?");
  assert.equal(usage(() => parseCommand('train', ['--zzzzzz'], OPTIONS)), "Unknown option '--zzzzzz'");
  assert.equal(usage(() => parseCommand('train', ['--epochs'], OPTIONS)), "Option '--epochs <value>' argument missing");
  assert.equal(usage(() => parseCommand('train', ['--lr', '0.1', '--lr=0.2'], OPTIONS)), "--lr is given twice ('0.1' and '0.2'): give it once");
  assert.equal(usage(() => parseCommand('train', ['-q', '--quiet'], OPTIONS)), '--quiet is given twice: give it once');
  assert.equal(usage(() => parseCommand('train', ['2'], OPTIONS)), "unexpected argument '2' (options take the form --name value)");
  assert.match(usage(() => parseCommand('train', ['--quiet=yes'], OPTIONS)), /--quiet' does not take an argument/);
  assert.equal(usage(() => requireString({ out: '' }, 'out', 'train')), '--out is required');
});

test('numberOpt takes plain decimals only, within bounds', () => {
  const n = (s: string, opts: Parameters<typeof numberOpt>[4] = {}) => numberOpt({ x: s }, 'x', 0, 'train', opts);
  assert.equal(n('3'), 3);
  assert.equal(n('-2.5'), -2.5);
  assert.equal(n('.5'), 0.5);
  assert.equal(n('1e-3'), 0.001);
  assert.equal(n('1E3', { integer: true }), 1000);
  assert.equal(numberOpt({}, 'x', 7, 'train'), 7, 'absent: the default');
  for (const bad of ['0x10', ' 5', '5 ', '', 'Infinity', 'NaN', '1,5', '1e', '--1', '0b11', '5e400']) {
    assert.equal(usage(() => n(bad)), `--x must be a number, got '${bad}'`, bad);
  }
  assert.equal(usage(() => n('2.5', { integer: true })), "--x must be an integer, got '2.5'");
  assert.equal(usage(() => n('0', { min: 1, max: 10, integer: true })), '--x must be an integer in [1, 10], got 0');
});

test('layersOpt: comma-separated positive integers', () => {
  assert.deepEqual(layersOpt({ h: '360,200,80' }, 'h', [1], 'train'), [360, 200, 80]);
  assert.deepEqual(layersOpt({ h: ' 16 , 8' }, 'h', [1], 'train'), [16, 8]);
  assert.deepEqual(layersOpt({}, 'h', [4], 'train'), [4]);
  for (const bad of ['', '16,,8', '0x10', '1.5', '16,0', '8,-2', '100000', 'a,b', '16;8']) {
    assert.equal(usage(() => layersOpt({ h: bad }, 'h', [1], 'train')), `--h must be comma-separated positive layer sizes like 360,200,80, got '${bad}'`, bad);
  }
});

test('choiceOpt lists the choices', () => {
  assert.equal(choiceOpt({ m: 'base' }, 'm', ['esmm', 'base'] as const, 'esmm', 'train'), 'base');
  assert.equal(usage(() => choiceOpt({ m: 'ESMM2' }, 'm', ['esmm', 'base'] as const, 'esmm', 'train')), "--m must be one of esmm, base, got 'ESMM2'");
});
