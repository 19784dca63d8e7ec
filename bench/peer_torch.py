"""The PyTorch peer of the training benchmark: the same ESMM (23 fields, shared tables, dim 18,
towers 360-200-80, Adam lr 0.001, batch 1024) trained on the very batches our trainer builds
(exported by bench/export-batches), at PyTorch's best on this CPU: nn.EmbeddingBag with
per_sample_weights and sparse gradients (SparseAdam for the tables, Adam for the towers), the
common features pooled once per group like ours, torch.set_num_threads(THREADS).

    python3 bench/peer_torch.py BATCHES_DIR OUT.json [--threads 2] [--max-steps N]

Writes OUT.json (samples/s per window, loss) and OUT.pred (float32 pctr, pcvr, pctcvr per test
impression, in file order) for the Node side to score with the same exact AUC.
"""
import json, struct, sys, time
import numpy as np
import torch
import torch.nn as nn

args = sys.argv[1:]
src, out = args[0], args[1]
threads = int(args[args.index("--threads") + 1]) if "--threads" in args else 2
max_steps = int(args[args.index("--max-steps") + 1]) if "--max-steps" in args else 1 << 30
torch.set_num_threads(threads)
torch.manual_seed(int(args[args.index("--seed") + 1]) if "--seed" in args else 1)

meta = json.load(open(f"{src}/meta.json"))
D = meta["dim"]
F = len(meta["fields"])
field_table = [f["table"] for f in meta["fields"]]


def read_batches(path):
    buf = open(path, "rb").read()
    pos = 0
    while pos < len(buf):
        B, G, ns, ng = struct.unpack_from("<4i", buf, pos)
        pos += 16

        def take(dtype, n):
            nonlocal pos
            a = np.frombuffer(buf, dtype=dtype, count=n, offset=pos)
            pos += a.nbytes
            return a

        click = take(np.float32, B)
        conv = take(np.float32, B)
        group_of = take(np.int32, B)
        s_off = take(np.int32, F * B + 1)
        s_rows = take(np.int32, ns)
        s_w = take(np.float32, ns)
        g_off = take(np.int32, F * G + 1)
        g_rows = take(np.int32, ng)
        g_w = take(np.float32, ng)
        yield dict(
            B=B, G=G,
            click=torch.from_numpy(click.copy()), conv=torch.from_numpy(conv.copy()),
            group_of=torch.from_numpy(np.where(group_of < 0, G, group_of).astype(np.int64)),
            s=(torch.from_numpy(s_off.astype(np.int64)), torch.from_numpy(s_rows.astype(np.int64)), torch.from_numpy(s_w.copy())),
            g=(torch.from_numpy(g_off.astype(np.int64)), torch.from_numpy(g_rows.astype(np.int64)), torch.from_numpy(g_w.copy())),
        )


def tower(inp):
    # The same initialization as ours: He uniform for hidden layers, Glorot uniform for the logit, zero biases.
    layers, d = [], inp
    for h in [360, 200, 80]:
        lin = nn.Linear(d, h)
        nn.init.kaiming_uniform_(lin.weight, nonlinearity="relu")
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.ReLU()]
        d = h
    last = nn.Linear(d, 1)
    nn.init.xavier_uniform_(last.weight)
    nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


class Esmm(nn.Module):
    def __init__(self):
        super().__init__()
        self.tables = nn.ModuleList()
        for t in meta["tables"]:
            e = nn.EmbeddingBag(t["buckets"], D, mode="sum", sparse=True)
            nn.init.uniform_(e.weight, -0.05, 0.05)
            self.tables.append(e)
        self.ctr = tower(F * D)
        self.cvr = tower(F * D)

    def pool(self, part, n, f):
        off, rows, w = part
        s, e = int(off[f * n]), int(off[(f + 1) * n])
        offsets = off[f * n:(f + 1) * n] - s
        return self.tables[field_table[f]](rows[s:e], offsets, per_sample_weights=w[s:e])

    def forward(self, b):
        B, G = b["B"], b["G"]
        cols = []
        for f in range(F):
            x = self.pool(b["s"], B, f)
            if G > 0:
                g = torch.cat([self.pool(b["g"], G, f), x.new_zeros(1, D)])
                x = x + g[b["group_of"]]
            cols.append(x)
        x = torch.cat(cols, 1)
        lc, lv = self.ctr(x).squeeze(1), self.cvr(x).squeeze(1)
        return lc, lv


model = Esmm()
sparse_params = [p for t in model.tables for p in t.parameters()]
dense_params = list(model.ctr.parameters()) + list(model.cvr.parameters())
opt_sparse = torch.optim.SparseAdam(sparse_params, lr=1e-3)
opt_dense = torch.optim.Adam(dense_params, lr=1e-3)
bce = nn.BCEWithLogitsLoss()


def step(b):
    lc, lv = model(b)
    pctr = torch.sigmoid(lc)
    pctcvr = torch.clamp(pctr * torch.sigmoid(lv), 1e-7, 1 - 1e-7)
    z = b["click"] * b["conv"]
    loss = bce(lc, b["click"]) + nn.functional.binary_cross_entropy(pctcvr, z)
    opt_sparse.zero_grad()
    opt_dense.zero_grad()
    loss.backward()
    opt_sparse.step()
    opt_dense.step()
    return float(loss)


window, rates, losses, samples, steps = 20, [], [], 0, 0
t_all = time.perf_counter()
t_win, n_win = time.perf_counter(), 0
for b in read_batches(f"{src}/train.bin"):
    losses.append(step(b))
    samples += b["B"]
    n_win += b["B"]
    steps += 1
    if steps % window == 0:
        now = time.perf_counter()
        rates.append(n_win / (now - t_win))
        t_win, n_win = now, 0
    if steps >= max_steps:
        break
seconds = time.perf_counter() - t_all

preds = []
with torch.no_grad():
    for b in read_batches(f"{src}/test.bin"):
        lc, lv = model(b)
        pctr, pcvr = torch.sigmoid(lc), torch.sigmoid(lv)
        preds.append(torch.stack([pctr, pcvr, pctr * pcvr], 1).numpy().astype(np.float32))
np.concatenate(preds).tofile(out.replace(".json", ".pred"))
json.dump({
    "torch": torch.__version__, "threads": threads, "samples": samples, "steps": steps, "seconds": seconds,
    "samples_per_s": samples / seconds, "window_rates": rates,
    "first_losses": losses[:5], "final_loss": float(np.mean(losses[-50:])),
}, open(out, "w"))
print(f"peer: {samples} samples in {seconds:.1f}s = {samples / seconds:.0f} samples/s ({threads} threads)")
