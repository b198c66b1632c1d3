"""
The PyTorch peer of the flow benchmark's reference (benchmarks/flows.ts, REFERENCE_REALNVP in
src/models/flows/config.ts): RealNVP on 2-D points, 8 affine coupling steps with reverse permutations (in 2-D: the
two coordinates swap after every step), each conditioner an MLP 1 → 64 → 64 → 2 with ReLU, log-scale bounded as
c · tanh(raw) with a learned per-dimension c (initialised to 1), standard normal base, trained by Adam (AdamW
without decay: the flow evaluator's default) on the mean negative log-likelihood, with gradient clipping at global
norm 1, on one thread. Only the step time is compared (ms per training step of a batch), not the curve: the data
and initial weights come from each side's own generator.

    /usr/bin/python3 benchmarks/pytorch_realnvp.py config.json     # {"steps", "batchSize", "lr", "seed"}

Prints one JSON line: the torch version, threads, and the median and mean step time in wall-clock and CPU time
(process_time: unaffected by other processes taking the CPU).
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn


class Coupling(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2))
        # The tfjs reference starts near identity: its output layer starts small.
        nn.init.uniform_(self.net[-1].weight, -0.01, 0.01)
        nn.init.zeros_(self.net[-1].bias)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        xa, xb = x[:, :1], x[:, 1:]
        raw, t = self.net(xa).chunk(2, dim=1)
        log_s = self.scale * torch.tanh(raw)
        zb = xb * torch.exp(log_s) + t
        # reverse permutation: the transformed coordinate conditions the next step
        return torch.cat([zb, xa], dim=1), log_s.sum(dim=1)


class RealNVP(nn.Module):
    def __init__(self, steps, width):
        super().__init__()
        self.layers = nn.ModuleList([Coupling(width) for _ in range(steps)])

    def log_prob(self, x):
        log_det = torch.zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        base = -0.5 * (x * x).sum(dim=1) - x.shape[1] * 0.5 * math.log(2 * math.pi)
        return base + log_det


def eight_gaussians(n, g):
    centers = torch.tensor([(math.cos(k * math.pi / 4), math.sin(k * math.pi / 4)) for k in range(8)]) * 2.0
    idx = torch.randint(0, 8, (n,), generator=g)
    return centers[idx] + 0.2 * torch.randn(n, 2, generator=g)


def main():
    cfg = json.load(open(sys.argv[1]))
    torch.set_num_threads(1)
    torch.manual_seed(cfg.get("seed", 1))
    g = torch.Generator().manual_seed(cfg.get("seed", 1))
    model = RealNVP(cfg.get("flowSteps", 8), cfg.get("width", 64))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.get("lr", 1e-2), weight_decay=0.0)
    steps, batch = cfg["steps"], cfg["batchSize"]
    data = eight_gaussians(steps * batch, g)
    wall, cpu = [], []
    for step in range(steps):
        x = data[step * batch : (step + 1) * batch]
        w0, c0 = time.perf_counter(), time.process_time()
        loss = -model.log_prob(x).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    skip = min(5, steps // 5)  # the first steps warm allocators up
    w, c = sorted(wall[skip:]), sorted(cpu[skip:])
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "median_step_ms": 1000 * w[len(w) // 2],
        "mean_step_ms": 1000 * sum(w) / len(w),
        "median_step_cpu_ms": 1000 * c[len(c) // 2],
        "mean_step_cpu_ms": 1000 * sum(c) / len(c),
        "final_loss": float(loss.item()),
        "params": sum(p.numel() for p in model.parameters()),
    }))


if __name__ == "__main__":
    main()
