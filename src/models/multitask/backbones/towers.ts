/** The `towers` backbone: every task's tower reads x itself (shared embeddings, separate towers: ESMM's way). */
import { defineBackbone } from '../part.js';

export const TOWERS = defineBackbone({
  name: 'towers',
  options: {},
  describe: () => 'shared embeddings, one tower per task',
  build: (_g, x, tasks) => ({ inputs: Object.fromEntries(tasks.map((t) => [t, x])), inspect: {} }),
  small: {},
});
