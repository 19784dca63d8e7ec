/** The `shared-bottom` backbone: a shared MLP over x; every task's tower reads its output (Caruana 1997). */
import { layers } from '../../hyper.js';
import { mlp } from '../../layers.js';
import { defineBackbone } from '../part.js';

export const SHARED_BOTTOM_BACKBONE = defineBackbone({
  name: 'shared-bottom',
  options: { bottom: layers([128, 128], 'the shared MLP\'s layer sizes') },
  describe: (o) => `a shared MLP (${o.bottom.join('-')}) under one tower per task`,
  build: (g, x, tasks, o) => {
    const h = mlp(g, 'bottom', x, o.bottom, o.dropout);
    return { inputs: Object.fromEntries(tasks.map((t) => [t, h])), inspect: {} };
  },
  small: { bottom: [4] },
});
