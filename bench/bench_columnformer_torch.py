"""The untied Columnformer block of bench_columnformer.cpp in PyTorch.

Same shapes and parameter count: 64 columns, D 128, 4 heads, MLP ratio 2,
every Linear (q, k, v, proj, fc1, fc2) and LayerNorm untied, the untied
products written with torch.einsum. One training step is forward, backward
and an AdamW update (weight decay on every parameter, as the C++ side);
images/s is the median of several timed runs at 1 and 2 threads, batch 64
and 128.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        /usr/bin/python3 bench/bench_columnformer_torch.py [runs] [steps]
"""
import math
import statistics
import sys
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
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(batch * steps / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    params = sum(p.numel() for p in UntiedBlock().parameters())
    print(f"untied Columnformer block (PyTorch {torch.__version__}, einsum): N {N}, D {D}, "
          f"{H} heads, MLP ratio {RATIO}, {params} parameters")
    print(f"{'threads':8} {'batch':6} {'images/s':>12}   (forward + backward + AdamW, "
          f"median of {runs} runs of {steps} steps)")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for batch in (64, 128):
            print(f"{threads:<8} {batch:<6} {images_per_second(batch, runs, steps):12.1f}")


if __name__ == "__main__":
    main()
