"""The untied Columnformer block of bench_columnformer.cpp in PyTorch.

Same shapes and parameter count: 64 columns, D 128, 4 heads, MLP ratio 2,
every Linear (q, k, v without bias, proj, fc1, fc2) and LayerNorm untied,
the untied products written with torch.einsum. One training step is
forward, backward and an AdamW update (weight decay on every parameter, as
the C++ side); images/s is the median of several timed runs, and
images/CPU-s the same per second of the process's CPU time.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 \
        bench/bench_columnformer_torch.py [--threads T] [--batch B] [--runs R] [--steps S]

bench/compare_columnformer.sh runs it alternately with `bench_columnformer block`.
"""
import argparse
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

N, D, H, RATIO = 64, 128, 4, 2


class UntiedLinear(nn.Module):
    """y[b, n] = W[n] x[b, n] + bias[n] (ARCHITECTURES.md C1)."""

    def __init__(self, n, d_in, d_out, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n, d_out, d_in))
        self.bias = nn.Parameter(torch.zeros(n, d_out)) if bias else None
        nn.init.trunc_normal_(self.weight, std=0.02, a=-0.04, b=0.04)

    def forward(self, x):
        y = torch.einsum("bni,noi->bno", x, self.weight)
        return y if self.bias is None else y + self.bias


class UntiedLayerNorm(nn.Module):
    def __init__(self, n, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, dim))
        self.bias = nn.Parameter(torch.zeros(n, dim))

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],)) * self.weight + self.bias


class UntiedBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = UntiedLayerNorm(N, D)
        # q, k, v without biases (qkv_bias false), proj with one, as the C++ block.
        self.q, self.k, self.v = (UntiedLinear(N, D, D, bias=False) for _ in range(3))
        self.proj = UntiedLinear(N, D, D)
        self.norm2 = UntiedLayerNorm(N, D)
        self.fc1 = UntiedLinear(N, D, RATIO * D)
        self.fc2 = UntiedLinear(N, RATIO * D, D)

    def attention(self, x):
        B = x.shape[0]

        def heads(t):
            return t.reshape(B, N, H, D // H).transpose(1, 2)

        q = heads(self.q(x)) / math.sqrt(D // H)
        a = torch.softmax(q @ heads(self.k(x)).transpose(-1, -2), dim=-1)
        o = (a @ heads(self.v(x))).transpose(1, 2).reshape(B, N, D)
        return self.proj(o)

    def forward(self, x):
        x = x + self.attention(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


def images_per_second(batch, runs, steps):
    """Medians over `runs` of images per second of wall time and of CPU time."""
    torch.manual_seed(0)
    block = UntiedBlock()
    opt = torch.optim.AdamW(block.parameters(), lr=1e-4, weight_decay=0.05)
    x = torch.randn(batch, N, D)
    r = torch.randn(batch, N, D)

    def step():
        opt.zero_grad()
        (block(x) * r).sum().backward()
        opt.step()

    step()  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        cpu.append(batch * steps / (time.process_time() - cpu_start))
        wall.append(batch * steps / (time.perf_counter() - start))
    return statistics.median(wall), statistics.median(cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = sum(p.numel() for p in UntiedBlock().parameters())
    env = ", ".join(f"{k}={os.environ[k]}" if k in os.environ else f"{k} unset"
                    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))
    print(f"torch untied block (PyTorch {torch.__version__}, einsum): N {N}, D {D}, {H} heads, "
          f"MLP ratio {RATIO}, {params} parameters; {env}")
    wall, cpu = images_per_second(args.batch, args.runs, args.steps)
    print(f"threads {torch.get_num_threads()}  batch {args.batch}  images/s {wall:.1f}  images/CPU-s {cpu:.1f}  "
          f"(forward + backward + AdamW, median of {args.runs} runs of {args.steps} steps)")


if __name__ == "__main__":
    main()
