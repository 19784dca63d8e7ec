/**
 * PLE (Tang et al., RecSys 2020): levels of task-specific and shared experts with a gate per task
 * and a shared gate below the top; `--levels 1` is CGC. Objective `independent`, as the anchors
 * train it on Ali-CCP. Defaults: the paper's two levels on Ali-CCP; 2 experts per task and 1 shared
 * of one layer of 16, towers of 8 (torch-rechub's documented PLE example). See multitask/compose.ts.
 */
import { multiTaskModel } from '../multitask/compose.js';

export const PLE = multiTaskModel({
  kind: 'ple',
  title: 'PLE',
  summary: 'progressive layered extraction: task and shared experts per level (Tang et al. 2020); --levels 1 is CGC',
  source: '(Tang et al., RecSys 2020; two levels as on Ali-CCP in the paper, expert counts and sizes from torch-rechub\'s example.)',
  defaults: { backbone: 'ple', objective: 'independent', tower: [8], options: { levels: 2, taskExperts: 2, sharedExperts: 1, expert: [16] } },
});
