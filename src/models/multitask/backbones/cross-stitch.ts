/**
 * The `cross-stitch` backbone (Misra et al., CVPR 2016): one column MLP per task; after each of
 * its hidden layers a cross-stitch unit, a learned T×T matrix α (`stitch<i>`), mixes the T
 * columns' activations, so that task k's next layer reads Σ_j α_kj h_j:
 *
 *   x ─┬─ column ctr: layer 0 ─┐ stitch0 ┌─ layer 1 ─┐ stitch1 ┌─ ... ─ ctr tower
 *      └─ column cvr: layer 0 ─┘  (α)    └─ layer 1 ─┘  (α)    └─ ... ─ cvr tower
 *
 * α starts at αS on its diagonal and (1 − αS)/(T − 1) elsewhere: each row a convex combination,
 * so a unit's output is of the order of its inputs, and near the identity (the paper's best start
 * for two tasks is αS 0.9, αD 0.1, its section 4.1 and Table 2).
 *
 * The paper also scales the stitch units' learning rate (by 10² to 10³ of the network's, section
 * 4.1), for SGD, where α's gradient is small against its range. Adam and Adagrad step each
 * parameter by about the learning rate whatever its gradient's scale, so α already moves as fast
 * as every weight and the scale defaults to 1. `stitchLrScale` s keeps the paper's treatment
 * available: the graph holds β = α / s and uses α = s·β, so under Adam or Adagrad α moves s times
 * as fast (the step of β is unchanged by the gradient's factor s; up to the optimizers' ε).
 */
import { layers, real } from '../../hyper.js';
import { mlp } from '../../layers.js';
import { defineBackbone } from '../part.js';
import { stack } from './experts.js';

export const CROSS_STITCH_BACKBONE = defineBackbone({
  name: 'cross-stitch',
  options: {
    columns: layers([360, 200, 80], 'each task column\'s hidden layer sizes, a cross-stitch unit after each'),
    stitchSelf: real(0.9, 'a cross-stitch unit\'s initial weight of a task\'s own column (αS; the other columns share 1 - αS)', { min: 0, max: 1 }),
    stitchLrScale: real(1, 'the cross-stitch units\' learning rate as a multiple of the model\'s (under Adam and Adagrad)', { min: 1e-3, max: 1e4 }),
  },
  describe: (o) => `Cross-Stitch: task columns (${o.columns.join('-')}) mixed by a learned matrix after each layer, starting at αS ${o.stitchSelf}`,
  build: (g, x, tasks, o) => {
    const n = tasks.length;
    const others = (1 - o.stitchSelf) / (n - 1);
    const start = Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? o.stitchSelf : others) / o.stitchLrScale);
    let columns = tasks.map(() => x);
    o.columns.forEach((width, i) => {
      const stacked = stack(g, tasks.map((t, k) => mlp(g, `column.${t}`, columns[k]!, [width], o.dropout, i)));
      const beta = g.param(`stitch${i}`, [n, n], { kind: 'values', values: start });
      const alpha = o.stitchLrScale === 1 ? beta : g.mul(beta, g.scalar(o.stitchLrScale));
      columns = tasks.map((_, k) => {
        // Row k of α, [n, 1]; task k reads Σ_j α_kj h_j.
        const pick = g.tensor(Array.from({ length: n }, (_, j) => (j === k ? 1 : 0)), [n, 1]);
        const row = g.reshape(g.reduceSum(g.mul(alpha, pick), [0], false), [n, 1]);
        return g.reduceSum(g.mul(stacked, row), [1], false);
      });
    });
    return { inputs: Object.fromEntries(tasks.map((t, k) => [t, columns[k]!])), inspect: {} };
  },
  small: { columns: [4, 3] },
});
