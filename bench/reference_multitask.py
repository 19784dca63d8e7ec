"""A PyTorch reference of the multi-task kinds AITM, ESCM2-IPS and ESMM, written from the papers
(Xi et al., KDD 2021; Wang et al., SIGIR 2022; Ma et al., SIGIR 2018), trained on the batches our
trainer trains on, in its order, exported with our model's initial parameters by
bench/export-multitask.ts. It answers two questions:

1. Step-matched (--init ours, the default): from our initial parameters, on our batches, with our
   optimizer arithmetic, are the per-step losses ours (PEER_DIR/ours.json, written by the exporter's
   --ours) to float32 noise? If so the two sides compute the same math; the first step where they
   part locates a difference (bench/reference_grad_check.py compares the dense gradients
   themselves on one input).
2. Variants (--att-init, --att-bias, --info-init, --tower-init, --ips-clip, --order): what each
   choice the paper leaves open does to the test AUCs, from the same batches.
3. Float noise (--perturb EPS): every initial dense weight times (1 + EPS N(0, 1)): how far two
   runs of the same math part from a difference of float32 rounding size (EPS 1e-7).

    node dist-bench/bench/export-multitask.js --data DATA --out PEER_DIR --model aitm --seed S --ours
    python3 bench/reference_multitask.py PEER_DIR OUT.json [--kind aitm|escm2-ips|esmm]
        [--init ours|fresh] [--init-seed N] [--att-init ours|normal|torch] [--att-bias 0|1]
        [--info-init ours|glorot|torch] [--tower-init ours|torch] [--emb-init ours|normal]
        [--alpha 0.6] [--ips-clip 15] [--max-steps N] [--threads 1]
        [--order ours|shuffle] [--perturb EPS]

Optimizer, as our trainer's (src/optim, src/sparse/row-sparse-optimizer.ts): Adam lr 0.001 for the
dense parameters with eps outside the bias correction (TF's form; set through torch's eps each
step), torch.optim.SparseAdam (the same lazy, TF-form Adam) for the embedding rows, no weight
decay, the loss a mean over the batch. --kind decides the towers and the loss:

  aitm       towers ctr and ctcvr 128-64-32 over x; info = ReLU(p W_i + b_i) of the click tower's
             output p; z = sum_u w_u (u W3) over u in {q, info}, w = softmax_u(<u W1, u W2> / sqrt(32));
             loss e(o, pCTR) + e(y, pCTCVR) + alpha * max(pCTCVR - pCTR, 0), pCVR = min(1, pCTCVR / pCTR)
  escm2-ips  towers ctr, cvr 360-200-80: e(o, pCTR) + 0.5 o e(r, pCVR) / max(pCTR_detached, 1/clip)
             + 0.5 e(y, pCTR pCVR)
  esmm       towers ctr, cvr 360-200-80: e(o, pCTR) + e(y, pCTR pCVR)

Initialisation: --init ours loads every parameter we export; --init fresh draws every dense part
from torch's defaults (nn.Linear: U(+-1/sqrt(fan_in)) weights and biases) unless a part's flag
says otherwise. Per part: --tower-init ours|torch, --info-init ours (He uniform, zero bias) |
glorot (Keras' Dense default, the authors' code) | torch, --att-init ours (Glorot uniform) |
normal (N(0, 0.01), the authors' code) | torch, --att-bias 1 (biases in the three projections),
--emb-init ours | normal (N(0, 0.01)). --init-seed seeds torch's draws (and --order shuffle).

Writes OUT.json: per-step losses, the largest gap to ours.json's losses where given, and the test
AUCs (CTR on all impressions, CVR on clicked impressions, CTCVR on all), plus diagnostics: ties of
pCVR at 1 among the clicked (clicked_pcvr_at_1), AITM's mean attention weights over the test set
([own tower q, info]), and for ESCM2-IPS the share of clicked impressions whose 1/pCTR is clipped
and the mean and largest 1/pCTR, per 50 steps; OUT.pred holds float32 pctr, pcvr, pctcvr per test
impression in file order. Runs in about 15 s a seed on one thread (--threads above 1 is much
slower on a loaded machine).
"""
import json, math, struct, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as Fn

args = sys.argv[1:]
src, out = args[0], args[1]


def opt(name, default):
    return args[args.index(name) + 1] if name in args else default


kind = opt("--kind", "aitm")
init_mode = opt("--init", "ours")
init_seed = int(opt("--init-seed", "1"))
att_init = opt("--att-init", "ours")
att_bias = opt("--att-bias", "0") == "1"
info_init = opt("--info-init", "ours")
tower_init = opt("--tower-init", "ours")
emb_init = opt("--emb-init", "ours")
alpha = float(opt("--alpha", "0.6"))
ips_clip = float(opt("--ips-clip", "15"))
max_steps = int(opt("--max-steps", str(1 << 30)))
threads = int(opt("--threads", "1"))
order = opt("--order", "ours")
perturb = float(opt("--perturb", "0"))
torch.set_num_threads(threads)
torch.manual_seed(init_seed)
assert kind in ("aitm", "escm2-ips", "esmm"), kind
if init_mode == "fresh":
    # Nothing of ours: every part from the reference's own rule unless a flag says otherwise.
    att_init = att_init if att_init != "ours" else "torch"
    info_init = info_init if info_init != "ours" else "torch"
    tower_init = tower_init if tower_init != "ours" else "torch"

meta = json.load(open(f"{src}/meta.json"))
D = meta["dim"]
F = len(meta["fields"])
field_table = np.array([f["table"] for f in meta["fields"]])
buckets = np.array([t["buckets"] for t in meta["tables"]], dtype=np.int64)
base = np.concatenate([[0], np.cumsum(buckets)[:-1]])


# ---- data -----------------------------------------------------------------------------------
def read_batches(path):
    buf = open(path, "rb").read()
    pos = 0
    while pos < len(buf):
        B, G, ns, ng = struct.unpack_from("<4i", buf, pos)
        pos += 16
        parts = []
        for dtype, n in ((np.float32, B), (np.float32, B), (np.int32, B), (np.int32, F * B + 1), (np.int32, ns), (np.float32, ns),
                         (np.int32, F * G + 1), (np.int32, ng), (np.float32, ng)):
            a = np.frombuffer(buf, dtype=dtype, count=n, offset=pos)
            pos += a.nbytes
            parts.append(a)
        click, conv, group_of, s_off, s_rows, s_w, g_off, g_rows, g_w = parts
        yield dict(B=B, G=G, click=click, conv=conv, group_of=group_of, s_off=s_off, s_rows=s_rows, s_w=s_w, g_off=g_off, g_rows=g_rows, g_w=g_w)


def table_rows(off, rows, n):
    """Every entry's row in one concatenated table (its table's first row added)."""
    counts = np.diff(off[::n]) if n > 0 else np.zeros(F, np.int64)
    return rows.astype(np.int64) + np.repeat(base[field_table], counts)


def fuse(b):
    """One EmbeddingBag call per batch: the impressions' bags (field-major), then the sessions'."""
    B, G = b["B"], b["G"]
    ns = len(b["s_rows"])
    rows = np.concatenate([table_rows(b["s_off"], b["s_rows"], B), table_rows(b["g_off"], b["g_rows"], G) if G > 0 else np.zeros(0, np.int64)])
    offsets = np.concatenate([b["s_off"][:-1], b["g_off"] + ns]).astype(np.int64)
    return dict(B=B, G=G, rows=rows, offsets=offsets, w=np.concatenate([b["s_w"], b["g_w"]]).astype(np.float32),
                group_of=np.where(b["group_of"] < 0, G, b["group_of"]).astype(np.int64),
                click=b["click"].astype(np.float32), conv=b["conv"].astype(np.float32))


train = [fuse(b) for b in read_batches(f"{src}/train.bin")]
test = [fuse(b) for b in read_batches(f"{src}/test.bin")]
# Rows renumbered to dense slots; rows the training never touches pool as zeros (as ours).
uniq = np.unique(np.concatenate([b["rows"] for b in train]))
for b in train:
    b["rows"] = np.searchsorted(uniq, b["rows"])
zero_row = len(uniq)
for b in test:
    i = np.minimum(np.searchsorted(uniq, b["rows"]), len(uniq) - 1)
    b["rows"] = np.where(uniq[i] == b["rows"], i, zero_row)
for b in train + test:
    for k in ("rows", "offsets", "w", "group_of", "click", "conv"):
        b[k] = torch.from_numpy(np.ascontiguousarray(b[k]))
if order == "shuffle":
    rng = np.random.default_rng(init_seed)
    train = [train[i] for i in rng.permutation(len(train))]

init = json.load(open(f"{src}/init.json"))
init_bin = open(f"{src}/init.bin", "rb").read()


def init_array(dtype, offset, n):
    return np.frombuffer(init_bin, dtype=dtype, count=n, offset=offset)


ours = {d["name"]: torch.from_numpy(init_array(np.float32, d["offset"], int(np.prod(d["dims"]))).reshape(d["dims"]).copy()) for d in init["dense"]}


# ---- model ----------------------------------------------------------------------------------
class Dense(nn.Module):
    """x W + b with W stored [in, out] as ours (nn.Linear's default init when not loaded)."""

    def __init__(self, fan_in, fan_out, bias=True):
        super().__init__()
        lin = nn.Linear(fan_in, fan_out, bias=bias)  # torch's default U(+-1/sqrt(fan_in)) for both
        self.w = nn.Parameter(lin.weight.detach().t().contiguous())
        self.b = nn.Parameter(lin.bias.detach().clone()) if bias else None

    def forward(self, x):
        y = x @ self.w
        return y + self.b if self.b is not None else y

    def load(self, w, b=None):
        with torch.no_grad():
            self.w.copy_(w.reshape(self.w.shape))
            if self.b is not None:
                self.b.copy_(b.reshape(-1) if b is not None else torch.zeros_like(self.b))


class Tower(nn.Module):
    def __init__(self, name, widths):
        super().__init__()
        self.name = name
        dims = [F * D] + list(widths)
        self.hidden = nn.ModuleList(Dense(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.head = Dense(dims[-1], 1)

    def rep(self, x):
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return x

    def load_ours(self):
        for i, layer in enumerate(self.hidden):
            layer.load(ours[f"{self.name}.w{i}"], ours[f"{self.name}.b{i}"])
        n = len(self.hidden)
        self.head.load(ours[f"{self.name}.w{n}"], ours[f"{self.name}.b{n}"])


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        rows = zero_row + 1
        self.emb = nn.EmbeddingBag(rows, D, mode="sum", sparse=True, include_last_offset=True, _weight=torch.zeros(rows, D))
        if kind == "aitm":
            self.towers = nn.ModuleDict({"ctr": Tower("ctr", [128, 64, 32]), "ctcvr": Tower("ctcvr", [128, 64, 32])})
            d = 32
            self.info = Dense(d, d)
            self.att = nn.ModuleList(Dense(d, d, bias=att_bias) for _ in range(3))
        else:
            self.towers = nn.ModuleDict({"ctr": Tower("ctr", [360, 200, 80]), "cvr": Tower("cvr", [360, 200, 80])})

    def embed(self, b):
        B, G = b["B"], b["G"]
        pooled = self.emb(b["rows"], b["offsets"], per_sample_weights=b["w"])
        x = pooled[: F * B].view(F, B, D)
        if G > 0:
            g = torch.cat([pooled[F * B:].view(F, G, D), pooled.new_zeros(F, 1, D)], 1)
            x = x + g.index_select(1, b["group_of"])
        return x.transpose(0, 1).reshape(B, F * D)

    def forward(self, b):
        """Logits: (ctr, ctcvr) for aitm, (ctr, cvr) for the others; and the attention weights."""
        x = self.embed(b)
        if kind != "aitm":
            return self.towers["ctr"].head(self.towers["ctr"].rep(x)).squeeze(1), self.towers["cvr"].head(self.towers["cvr"].rep(x)).squeeze(1), None
        p = self.towers["ctr"].rep(x)
        q = self.towers["ctcvr"].rep(x)
        info = torch.relu(self.info(p))
        units = torch.stack([q, info], 1)  # [B, 2, d]
        w1, w2, w3 = self.att
        scores = (w1(units) * w2(units)).sum(-1) / math.sqrt(units.shape[-1])
        a = torch.softmax(scores, 1)
        z = (a.unsqueeze(-1) * w3(units)).sum(1)
        return self.towers["ctr"].head(p).squeeze(1), self.towers["ctcvr"].head(z).squeeze(1), a


model = Model()
with torch.no_grad():
    for name, t in model.towers.items():
        if tower_init == "ours":
            t.load_ours()
    if kind == "aitm":
        if info_init == "ours":
            model.info.load(ours["aitm.info.w"], ours["aitm.info.b"])
        elif info_init == "glorot":
            lim = math.sqrt(6 / 64)
            model.info.w.uniform_(-lim, lim)
            model.info.b.zero_()
        for k, lin in enumerate(model.att):
            if att_init == "ours":
                lin.load(ours[f"aitm.attention.w{k + 1}"])
            elif att_init == "normal":  # the authors' code: N(0, 0.01), no bias
                lin.w.normal_(0, 0.01)
                if lin.b is not None:
                    lin.b.zero_()
    if emb_init == "ours":
        for t, tab in enumerate(init["tables"]):
            rows = init_array(np.int32, tab["rows"], tab["count"]).astype(np.int64) + base[t]
            vals = torch.from_numpy(init_array(np.float32, tab["values"], tab["count"] * D).reshape(-1, D).copy())
            model.emb.weight[torch.from_numpy(np.searchsorted(uniq, rows))] = vals
    else:  # N(0, 0.01), the authors' code
        model.emb.weight[:zero_row].normal_(0, 0.01)
    if init_mode == "ours" and tower_init == "ours":
        used = {f"{n}.{p}{i}" for n, t in model.towers.items() for i in range(len(t.hidden) + 1) for p in "wb"}
        if kind == "aitm":
            used |= {"aitm.info.w", "aitm.info.b", "aitm.attention.w1", "aitm.attention.w2", "aitm.attention.w3"}
        assert used == set(ours), f"parameters differ: ours only {set(ours) - used}, reference only {used - set(ours)}"

dense_params = [p for n, p in model.named_parameters() if not n.startswith("emb.")]
if perturb > 0:
    g = torch.Generator().manual_seed(1000 + init_seed)
    with torch.no_grad():
        for p_ in dense_params:
            p_.mul_(1 + perturb * torch.randn(p_.shape, generator=g))
opt_sparse = torch.optim.SparseAdam([model.emb.weight], lr=1e-3)
opt_dense = torch.optim.Adam(dense_params, lr=1e-3)
EPS = 1e-7
ips_trace = []  # escm2-ips, per step: share of the clicked whose 1/pCTR is clipped, mean and max 1/pCTR over them


def bce_prob(p, y):
    """Keras' binary cross-entropy on a probability, p clipped to [1e-7, 1 - 1e-7] (as ours)."""
    p = p.clamp(EPS, 1 - EPS)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))


def loss_of(b, la, lb):
    o, r = b["click"], b["conv"]
    y = o * r
    if kind == "aitm":
        pctr, pctcvr = torch.sigmoid(la), torch.sigmoid(lb)
        per = Fn.binary_cross_entropy_with_logits(la, o, reduction="none") + Fn.binary_cross_entropy_with_logits(lb, y, reduction="none") \
            + alpha * torch.clamp(pctcvr - pctr, min=0)
        return per.mean()
    pctr, pcvr = torch.sigmoid(la), torch.sigmoid(lb)
    ctr = Fn.binary_cross_entropy_with_logits(la, o, reduction="none")
    global_ = bce_prob(pctr * pcvr, y)
    if kind == "esmm":
        return (ctr + global_).mean()
    inverse = 1 / torch.clamp(pctr.detach(), min=1 / ips_clip)
    clicked = o > 0.5
    if clicked.any():
        w = inverse[clicked]
        ips_trace.append((float((pctr.detach()[clicked] < 1 / ips_clip).float().mean()), float(w.mean()), float(w.max())))
    cvr = o * Fn.binary_cross_entropy_with_logits(lb, r, reduction="none") * inverse
    return (ctr + 0.5 * cvr + 0.5 * global_).mean()


def step(b):
    la, lb, _ = model(b)
    loss = loss_of(b, la, lb)
    opt_sparse.zero_grad(set_to_none=True)
    opt_dense.zero_grad(set_to_none=True)
    loss.backward()
    opt_sparse.step()
    # Ours (TF's form) has eps outside the bias correction; eps / sqrt(1 - beta2^t) inside is the same.
    t = opt_dense.state[dense_params[0]]["step"] + 1 if dense_params[0] in opt_dense.state else 1
    opt_dense.param_groups[0]["eps"] = 1e-8 / (1 - 0.999 ** float(t)) ** 0.5
    opt_dense.step()
    return float(loss)


def auc(score, label):
    """Exact ROC AUC, ties counted one half (average ranks)."""
    score = np.asarray(score, np.float64)
    label = np.asarray(label) > 0.5
    n_pos, n_neg = int(label.sum()), int((~label).sum())
    order_ = np.argsort(score, kind="mergesort")
    s = score[order_]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(s))
    r[order_] = ranks
    return (r[label].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def evaluate():
    pctr, pctcvr, pcvr, att, click, conv = [], [], [], [], [], []
    with torch.no_grad():
        for b in test:
            la, lb, a = model(b)
            pc = torch.sigmoid(la)
            if kind == "aitm":
                pt = torch.sigmoid(lb)
                pv = torch.clamp(pt / pc, max=1.0)
                att.append(a.numpy())
            else:
                pv = torch.sigmoid(lb)
                pt = pc * pv
            pctr.append(pc.numpy()); pctcvr.append(pt.numpy()); pcvr.append(pv.numpy())
            click.append(b["click"].numpy()); conv.append(b["conv"].numpy())
    pctr, pctcvr, pcvr = map(np.concatenate, (pctr, pctcvr, pcvr))
    click, conv = np.concatenate(click), np.concatenate(conv)
    clicked = click > 0.5
    res = dict(ctr_auc=auc(pctr, click), cvr_auc=auc(pcvr[clicked], conv[clicked]), ctcvr_auc=auc(pctcvr, click * conv),
               clicked=int(clicked.sum()), clicked_pcvr_at_1=int((pcvr[clicked] >= 1).sum()),
               all_pcvr_at_1=int((pcvr >= 1).sum()))
    if kind == "aitm":
        res["attention_mean"] = np.concatenate(att).mean(0).tolist()
    return res, np.stack([pctr, pcvr, pctcvr], 1).astype(np.float32)


ours_losses = None
try:
    ours_losses = json.load(open(f"{src}/ours.json"))["losses"]
except FileNotFoundError:
    pass
t0 = time.perf_counter()
losses = []
for b in train[:max_steps]:
    losses.append(step(b))
seconds = time.perf_counter() - t0
res, preds = evaluate()
preds.tofile(out.replace(".json", ".pred"))
report = dict(kind=kind, init=init_mode, att_init=att_init, att_bias=att_bias, info_init=info_init, tower_init=tower_init, emb_init=emb_init,
              alpha=alpha, ips_clip=ips_clip, order=order, init_seed=init_seed, perturb=perturb, steps=len(losses), seconds=seconds, losses=losses, **res)
if ips_trace:
    tr = np.array(ips_trace)
    report["ips_clipped_share_by_50"] = [float(tr[i:i + 50, 0].mean()) for i in range(0, len(tr), 50)]
    report["ips_mean_inverse_by_50"] = [float(tr[i:i + 50, 1].mean()) for i in range(0, len(tr), 50)]
    report["ips_max_inverse_by_50"] = [float(tr[i:i + 50, 2].max()) for i in range(0, len(tr), 50)]
if ours_losses is not None and order == "ours":
    n = min(len(ours_losses), len(losses))
    gap = np.abs(np.array(losses[:n]) - np.array(ours_losses[:n]))
    report["first_loss_gap"] = float(gap[0])
    report["max_gap_first_20"] = float(gap[:20].max())
    report["max_gap"] = float(gap.max())
    report["first_step_gap_over_1e-4"] = int(np.argmax(gap > 1e-4)) if (gap > 1e-4).any() else None
    report["gap_by_100"] = [float(gap[i:i + 100].max()) for i in range(0, n, 100)]
json.dump(report, open(out, "w"))
print(json.dumps({k: v for k, v in report.items() if k != "losses"}))
