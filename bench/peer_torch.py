"""The PyTorch peer of the training benchmark: the same ESMM (23 fields, 19 shared tables, dim 18,
towers 360-200-80, ESMM loss, Adam lr 0.001 for the towers, SparseAdam for the tables, batch 1024)
trained on the batches our trainer trains on, in its order, from our initial parameters, both
exported by bench/export-batches.ts (train.bin, init.json/init.bin). bench/run.ts checks that the
first losses of both sides agree to 1e-5 before it reports any speed.

    python3 bench/peer_torch.py BATCHES_DIR OUT.json [--variant fused-remap|fused|per-field]
        [--threads 1] [--max-steps N] [--no-predict] [--dense-foreach 0|1]

Variants (each pools the common features once per group, as ours does):
  per-field   the anchor, as reference libraries write it: one nn.EmbeddingBag per table, one call
              per field and part (46 a step), SparseAdam over 19 parameters, zero_grad().
  fused       one EmbeddingBag over all tables (each table's row offset added while loading),
              include_last_offset, one lookup a step for the sample and group bags together, one
              SparseAdam parameter, zero_grad(set_to_none=True).
  fused-remap fused, and the hashed rows renumbered while loading to dense slots in first-touch
              order (what our tables do as they train), so the table holds only the rows the epoch
              touches; ids the epoch never touches map to a zero row (ours pools them as zeros).
Everything that is not a training step happens before the clock: reading and converting the
batches (and the renumbering), building the model, loading the initial parameters. The rate
leaves out step 1 (one-off allocations: SparseAdam's state, first calls), as bench/run.ts does on
our side.

Writes OUT.json (rates, per-step losses of the first steps, the step times) and, unless
--no-predict, OUT.pred (float32 pctr, pcvr, pctcvr per test impression, in file order).
"""
import json, struct, sys, time
import numpy as np
import torch
import torch.nn as nn

args = sys.argv[1:]
src, out = args[0], args[1]


def opt(name, default):
    return args[args.index(name) + 1] if name in args else default


variant = opt("--variant", "fused-remap")
threads = int(opt("--threads", "1"))
max_steps = int(opt("--max-steps", str(1 << 30)))
predict = "--no-predict" not in args
dense_foreach = opt("--dense-foreach", "0") == "1"
assert variant in ("per-field", "fused", "fused-remap"), variant
torch.set_num_threads(threads)

meta = json.load(open(f"{src}/meta.json"))
D = meta["dim"]
F = len(meta["fields"])
field_table = np.array([f["table"] for f in meta["fields"]])
buckets = np.array([t["buckets"] for t in meta["tables"]], dtype=np.int64)
base = np.concatenate([[0], np.cumsum(buckets)[:-1]])
total_rows = int(buckets.sum())


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

        b = dict(B=B, G=G, click=take(np.float32, B), conv=take(np.float32, B), group_of=take(np.int32, B))
        b["s_off"], b["s_rows"], b["s_w"] = take(np.int32, F * B + 1), take(np.int32, ns), take(np.float32, ns)
        b["g_off"], b["g_rows"], b["g_w"] = take(np.int32, F * G + 1), take(np.int32, ng), take(np.float32, ng)
        yield b


def global_rows(off, rows, n):
    """Each entry's row in the concatenated table: its table's first row added."""
    counts = np.diff(off[:: n] if n > 0 else np.zeros(F + 1, np.int32))
    return rows.astype(np.int64) + np.repeat(base[field_table], counts)


def prepare_fused(b):
    B, G = b["B"], b["G"]
    ns = len(b["s_rows"])
    rows = np.concatenate([global_rows(b["s_off"], b["s_rows"], B), global_rows(b["g_off"], b["g_rows"], G) if G > 0 else np.zeros(0, np.int64)])
    offsets = np.concatenate([b["s_off"][:-1], b["g_off"] + ns]).astype(np.int64)
    return dict(B=B, G=G, rows=rows, offsets=offsets, w=np.concatenate([b["s_w"], b["g_w"]]),
                group_of=np.where(b["group_of"] < 0, G, b["group_of"]).astype(np.int64), click=b["click"], conv=b["conv"])


def prepare_per_field(b):
    B, G = b["B"], b["G"]
    t = lambda a, dt: torch.from_numpy(a.astype(dt))
    return dict(B=B, G=G, click=t(b["click"], np.float32), conv=t(b["conv"], np.float32),
                group_of=t(np.where(b["group_of"] < 0, G, b["group_of"]), np.int64),
                s=(t(b["s_off"], np.int64), t(b["s_rows"], np.int64), t(b["s_w"], np.float32)),
                g=(t(b["g_off"], np.int64), t(b["g_rows"], np.int64), t(b["g_w"], np.float32)))


def to_torch(b):
    out = dict(b)
    for k in ("rows", "offsets", "w", "group_of", "click", "conv"):
        out[k] = torch.from_numpy(np.array(b[k]))
    return out


t_load = time.perf_counter()
init = json.load(open(f"{src}/init.json"))
init_bin = open(f"{src}/init.bin", "rb").read()


def init_array(dtype, offset, n):
    return np.frombuffer(init_bin, dtype=dtype, count=n, offset=offset)


train_raw = list(read_batches(f"{src}/train.bin"))
test_raw = list(read_batches(f"{src}/test.bin")) if predict else []
if variant == "per-field":
    train = [prepare_per_field(b) for b in train_raw]
    test = [prepare_per_field(b) for b in test_raw]
    emb_rows = None
else:
    train = [prepare_fused(b) for b in train_raw]
    test = [prepare_fused(b) for b in test_raw]
    if variant == "fused-remap":
        # Slots in first-touch order over the epoch, as our tables give them.
        stream = np.concatenate([b["rows"] for b in train])
        uniq, first = np.unique(stream, return_index=True)
        slot_of_uniq = np.empty(len(uniq), np.int64)
        slot_of_uniq[np.argsort(first, kind="stable")] = np.arange(len(uniq))
        for b in train:
            b["rows"] = slot_of_uniq[np.searchsorted(uniq, b["rows"])]
        zero_row = len(uniq)
        for b in test:
            i = np.minimum(np.searchsorted(uniq, b["rows"]), len(uniq) - 1)
            b["rows"] = np.where(uniq[i] == b["rows"], slot_of_uniq[i], zero_row)
        emb_rows = len(uniq) + 1
    else:
        emb_rows = total_rows
    train = [to_torch(b) for b in train]
    test = [to_torch(b) for b in test]
del train_raw, test_raw


def tower(prefix):
    layers, d = [], F * D
    for i, h in enumerate([360, 200, 80, 1]):
        lin = nn.Linear(d, h)
        layers += [lin] + ([nn.ReLU()] if h != 1 else [])
        d = h
    return nn.Sequential(*layers)


class Esmm(nn.Module):
    def __init__(self):
        super().__init__()
        if variant == "per-field":
            self.tables = nn.ModuleList(nn.EmbeddingBag(int(n), D, mode="sum", sparse=True, _weight=torch.zeros(int(n), D)) for n in buckets)
        else:
            self.emb = nn.EmbeddingBag(emb_rows, D, mode="sum", sparse=True, include_last_offset=True, _weight=torch.zeros(emb_rows, D))
        self.ctr = tower("ctr")
        self.cvr = tower("cvr")

    def pool_field(self, part, n, f):
        off, rows, w = part
        s, e = int(off[f * n]), int(off[(f + 1) * n])
        return self.tables[field_table[f]](rows[s:e], off[f * n:(f + 1) * n] - s, per_sample_weights=w[s:e])

    def embed(self, b):
        B, G = b["B"], b["G"]
        if variant == "per-field":
            cols = []
            for f in range(F):
                x = self.pool_field(b["s"], B, f)
                if G > 0:
                    g = torch.cat([self.pool_field(b["g"], G, f), x.new_zeros(1, D)])
                    x = x + g[b["group_of"]]
                cols.append(x)
            return torch.cat(cols, 1)
        pooled = self.emb(b["rows"], b["offsets"], per_sample_weights=b["w"])
        x = pooled[: F * B].view(F, B, D)
        if G > 0:
            g = torch.cat([pooled[F * B:].view(F, G, D), pooled.new_zeros(F, 1, D)], 1)
            x = x + g.index_select(1, b["group_of"])
        return x.transpose(0, 1).reshape(B, F * D)

    def forward(self, b):
        x = self.embed(b)
        return self.ctr(x).squeeze(1), self.cvr(x).squeeze(1)


model = Esmm()
# Our initial parameters: dense weights are [in, out] in our graph, [out, in] in nn.Linear.
dense = {d["name"]: torch.from_numpy(init_array(np.float32, d["offset"], int(np.prod(d["dims"]))).reshape(d["dims"]).copy()) for d in init["dense"]}
with torch.no_grad():
    for name, seq in (("ctr", model.ctr), ("cvr", model.cvr)):
        lins = [m for m in seq if isinstance(m, nn.Linear)]
        for i, lin in enumerate(lins):
            lin.weight.copy_(dense[f"{name}.w{i}"].t())
            lin.bias.copy_(dense[f"{name}.b{i}"].reshape(-1))
    for t, tab in enumerate(init["tables"]):
        rows = init_array(np.int32, tab["rows"], tab["count"]).astype(np.int64)
        vals = torch.from_numpy(init_array(np.float32, tab["values"], tab["count"] * D).reshape(-1, D).copy())
        if variant == "per-field":
            model.tables[t].weight[torch.from_numpy(rows)] = vals
        else:
            g = rows + base[t]
            if variant == "fused-remap":
                g = slot_of_uniq[np.searchsorted(uniq, g)]
            model.emb.weight[torch.from_numpy(g)] = vals
    assert len(dense) == sum(2 for m in list(model.ctr) + list(model.cvr) if isinstance(m, nn.Linear))

sparse_params = [p for t in model.tables for p in t.parameters()] if variant == "per-field" else [model.emb.weight]
dense_params = list(model.ctr.parameters()) + list(model.cvr.parameters())
opt_sparse = torch.optim.SparseAdam(sparse_params, lr=1e-3)
opt_dense = torch.optim.Adam(dense_params, lr=1e-3, foreach=dense_foreach)
bce_logits = nn.BCEWithLogitsLoss()
set_to_none = variant != "per-field"
load_seconds = time.perf_counter() - t_load


def step(b):
    lc, lv = model(b)
    pctcvr = torch.clamp(torch.sigmoid(lc) * torch.sigmoid(lv), 1e-7, 1 - 1e-7)
    loss = bce_logits(lc, b["click"]) + nn.functional.binary_cross_entropy(pctcvr, b["click"] * b["conv"])
    opt_sparse.zero_grad(set_to_none=set_to_none)
    opt_dense.zero_grad(set_to_none=set_to_none)
    loss.backward()
    opt_sparse.step()
    # Our Adam (and SparseAdam's) has eps outside the bias correction (TF's form); torch's dense Adam
    # has it inside. eps / sqrt(1 - beta2^t) inside is the same update.
    t = opt_dense.state[dense_params[0]]["step"] + 1 if dense_params[0] in opt_dense.state else 1
    opt_dense.param_groups[0]["eps"] = 1e-8 / (1 - 0.999 ** float(t)) ** 0.5
    opt_dense.step()
    return float(loss)


window, losses, ends, sizes = 20, [], [], []
t0 = time.perf_counter()
for b in train[:max_steps]:
    losses.append(step(b))
    ends.append(time.perf_counter())
    sizes.append(b["B"])
seconds_after_first = ends[-1] - ends[0]
samples_after_first = sum(sizes[1:])
rates = [sum(sizes[i - window + 1:i + 1]) / (ends[i] - ends[i - window]) for i in range(window, len(ends), window)]

if predict:
    preds = []
    with torch.no_grad():
        for b in test:
            lc, lv = model(b)
            pctr, pcvr = torch.sigmoid(lc), torch.sigmoid(lv)
            preds.append(torch.stack([pctr, pcvr, pctr * pcvr], 1).numpy().astype(np.float32))
    np.concatenate(preds).tofile(out.replace(".json", ".pred"))
json.dump({
    "torch": torch.__version__, "variant": variant, "threads": threads, "dense_foreach": dense_foreach,
    "embedding_rows": emb_rows if emb_rows is not None else total_rows,
    "load_seconds": load_seconds, "steps": len(losses), "samples": sum(sizes),
    "first_step_seconds": ends[0] - t0,
    "samples_per_s": samples_after_first / seconds_after_first if len(ends) > 1 else float("nan"),
    "window_rates": rates, "first_losses": losses[:20], "final_loss": float(np.mean(losses[-50:])),
}, open(out, "w"))
print(f"peer {variant}: {samples_after_first / seconds_after_first:.0f} samples/s after step 1 ({threads} threads), first loss {losses[0]:.6f}")
