"""Our dense gradients against torch autograd on the same input and parameters: AITM (attention
block, info layer, calibrator) and ESCM2-IPS, written from the papers as in
bench/reference_multitask.py, run in float64.

    node dist-bench/bench/dense-grads.js --model aitm --seed 1 --out /tmp/g.json
    python3 bench/reference_grad_check.py /tmp/g.json [--alpha 0.6] [--ips-clip 15]

Prints, per parameter (and x), the largest |ours - torch| over the largest |torch|, and the loss
of both sides; exits 1 when any relative gap is above 1e-4.
"""
import json, math, sys
import numpy as np
import torch
import torch.nn.functional as Fn

args = sys.argv[1:]
src = args[0]
alpha = float(args[args.index("--alpha") + 1]) if "--alpha" in args else 0.6
ips_clip = float(args[args.index("--ips-clip") + 1]) if "--ips-clip" in args else 15.0
d = json.load(open(src))
kind = d["kind"]
P = {n: torch.tensor(np.array(p["data"], np.float64).reshape(p["dims"]), requires_grad=True) for n, p in d["params"].items()}
B = len(d["click"])
x = torch.tensor(np.array(d["x"], np.float64).reshape(B, d["inputDim"]), requires_grad=True)
o = torch.tensor(d["click"], dtype=torch.float64)
r = torch.tensor(d["conversion"], dtype=torch.float64)
y = o * r


def rep(task, h):
    i = 0
    while f"{task}.w{i + 1}" in P:  # hidden layers; the last w<i> is the logit layer
        h = torch.relu(h @ P[f"{task}.w{i}"] + P[f"{task}.b{i}"])
        i += 1
    return h, i


def logit(task, h, i):
    return (h @ P[f"{task}.w{i}"] + P[f"{task}.b{i}"]).squeeze(1)


if kind == "aitm":
    p, n = rep("ctr", x)
    q, m = rep("ctcvr", x)
    info = torch.relu(p @ P["aitm.info.w"] + P["aitm.info.b"])
    units = torch.stack([q, info], 1)
    w1, w2, w3 = P["aitm.attention.w1"], P["aitm.attention.w2"], P["aitm.attention.w3"]
    a = torch.softmax(((units @ w1) * (units @ w2)).sum(-1) / math.sqrt(units.shape[-1]), 1)
    z = (a.unsqueeze(-1) * (units @ w3)).sum(1)
    lc, lt = logit("ctr", p, n), logit("ctcvr", z, m)
    per = Fn.binary_cross_entropy_with_logits(lc, o, reduction="none") + Fn.binary_cross_entropy_with_logits(lt, y, reduction="none") \
        + alpha * torch.clamp(torch.sigmoid(lt) - torch.sigmoid(lc), min=0)
elif kind in ("escm2-ips", "esmm"):
    h, n = rep("ctr", x)
    lc = logit("ctr", h, n)
    h2, m = rep("cvr", x)
    lv = logit("cvr", h2, m)
    pctr, pcvr = torch.sigmoid(lc), torch.sigmoid(lv)
    pt = (pctr * pcvr).clamp(1e-7, 1 - 1e-7)
    glob = -(y * torch.log(pt) + (1 - y) * torch.log(1 - pt))
    ctr = Fn.binary_cross_entropy_with_logits(lc, o, reduction="none")
    if kind == "esmm":
        per = ctr + glob
    else:
        inv = 1 / torch.clamp(pctr.detach(), min=1 / ips_clip)
        per = ctr + 0.5 * o * Fn.binary_cross_entropy_with_logits(lv, r, reduction="none") * inv + 0.5 * glob
else:
    raise SystemExit(f"no reference for {kind}")
loss = per.mean()
names = list(P)
grads = torch.autograd.grad(loss, [P[n] for n in names] + [x])
worst = 0.0
print(f"{kind}: loss ours {d['loss']:.9f} torch {float(loss):.9f}")
for n, g in zip(names + ["x"], grads):
    ours = np.array(d["grads"][n] if n != "x" else d["gradX"], np.float64).reshape(g.shape)
    ref = g.numpy()
    rel = np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-30)
    worst = max(worst, rel)
    print(f"  {n:22s} max|torch| {np.abs(ref).max():.3e}  max rel gap {rel:.2e}")
print(f"worst relative gap {worst:.2e}")
sys.exit(1 if worst > 1e-4 else 0)
