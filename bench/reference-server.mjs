#!/usr/bin/env node
/**
 * The load test's floor: a plain node:http server that reads each body, JSON.parse's it and answers
 * a fixed prediction, with no model. Whatever latency it shows under the same load generator on
 * the same machine is not ours to remove. Prints "serving at URL" like `esmm serve`; exposes the
 * two metrics the load test reads (dense calls: none).
 */
import { createServer } from 'node:http';

const answer = JSON.stringify({ predictions: [{ probabilities: 0.1, ctr_probabilities: 0.2, cvr_probabilities: 0.5 }] });
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/metrics') {
      res.end('esmm_batch_instances_sum 0\nesmm_batch_instances_count 0\n');
      return;
    }
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Content-Length', Buffer.byteLength(answer));
    res.end(answer);
  });
});
server.listen(0, '127.0.0.1', () => console.log(`serving at http://127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
