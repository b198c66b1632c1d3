"""
The PyTorch peer of benchmarks/train.ts: nanoGPT's CPU "baby GPT" (model.py's GPT with bias=True, tied
embeddings, GELU in its tanh form, pre-LayerNorm, learned positions, full causal attention) trained on the same
Moby-Dick batches with the same schedule (AdamW, linear warm-up then cosine decay, clipping at global norm 1), on
one thread. Run by the TypeScript benchmark:

    /usr/bin/python3 benchmarks/pytorch_baby_gpt.py config.json

config.json holds the data path, the model and schedule, the training offsets of every step and the fixed
evaluation offsets (so both trainers see exactly the same characters). Prints one JSON line with tokens/s, the
learning curve and the per-step wall and CPU times (process_time: unaffected by other processes taking the CPU).
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
from torch.nn import functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, d, n_head, T):
        super().__init__()
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.n_head = n_head
        self.register_buffer("mask", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        hs = C // self.n_head
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, T)
        att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, d, n_head, T):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, n_head, T)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.c_proj = nn.Linear(4 * d, d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, T, n_layer, n_head, d):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(T, d)
        self.h = nn.ModuleList([Block(d, n_head, T) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d)
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets):
        B, T = idx.size()
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied head
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main():
    cfg = json.load(open(sys.argv[1]))
    torch.set_num_threads(1)
    torch.manual_seed(cfg["seed"])
    text = open(cfg["dataPath"], encoding="utf8").read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    cut = int(len(data) * 0.9)
    train, val = data[:cut], data[cut:]
    B, T = cfg["batchSize"], cfg["contextLength"]

    def batch(split, offsets):
        x = torch.stack([split[o : o + T] for o in offsets])
        y = torch.stack([split[o + 1 : o + T + 1] for o in offsets])
        return x, y

    model = GPT(len(chars), T, cfg["nLayers"], cfg["nHeads"], cfg["dModel"])
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg["learningRate"],
        betas=(0.9, cfg["beta2"]),
        eps=1e-8,
    )
    steps, warmup, peak, low = cfg["steps"], cfg["warmupSteps"], cfg["learningRate"], cfg["minLearningRate"]

    def lr_at(it):
        if it < warmup:
            return peak * (it + 1) / (warmup + 1)
        if it >= steps:
            return low
        ratio = (it - warmup) / max(1, steps - warmup)
        return low + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (peak - low)

    def evaluate():
        model.eval()
        total, n = 0.0, 0
        with torch.no_grad():
            offs = cfg["evalOffsets"]
            for i in range(0, len(offs), B):
                x, y = batch(val, offs[i : i + B])
                total += model(x, y).item() * x.numel()
                n += x.numel()
        model.train()
        return total / n

    curve, step_times, cpu_times, window = [], [], [], []
    train_seconds = 0.0
    for it in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        x, y = batch(train, cfg["trainOffsets"][it])
        t0 = time.perf_counter()
        c0 = time.process_time()
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        cpu_times.append(time.process_time() - c0)
        train_seconds += dt
        step_times.append(dt)
        window.append(loss.item())
        done = it + 1
        if done % cfg["logEvery"] == 0 or done == steps:
            curve.append({"step": done, "train_loss": sum(window) / len(window)})
            window = []
        if done % cfg["evalEvery"] == 0 or done == steps:
            curve.append({"step": done, "val_loss": evaluate()})
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()),
        "tokens_per_second": steps * B * T / train_seconds,
        "train_seconds": train_seconds,
        "median_step_ms": sorted(step_times)[len(step_times) // 2] * 1000,
        "cpu_seconds": sum(cpu_times),
        "median_step_cpu_ms": sorted(cpu_times)[len(cpu_times) // 2] * 1000,
        "curve": curve,
    }))


if __name__ == "__main__":
    main()
