"""The seven architectures of the PyTorch comparison, written in PyTorch.

PyTorch's half of the side-by-side benchmark (bench/bench_train.cpp is cf's
half, bench/compare_torch.sh runs both and prints the table; see
docs/PERFORMANCE.md, "Against PyTorch"). Each model mirrors the registered
cf model of the same name at its defaults (32x32x3 images, 10 classes):
the same modules, shapes and parameter count, and the same sequence of
operations, so that both sides do the same arithmetic. The comment above
each class names the cf file it mirrors.

    /usr/bin/python3 bench/torch_models.py NAME [--batch B] [--threads T]
        [--warmup W] [--steps N] [--infer M]
    /usr/bin/python3 bench/torch_models.py autograd [--threads T] [--ops N] [--runs R]
    /usr/bin/python3 bench/torch_models.py params

The measurement protocol is bench_train's: W untimed training steps
(forward, cross-entropy plus the model's auxiliary loss, backward, AdamW
with weight decay on every parameter), N timed ones, then M timed forward
passes in eval mode under torch.inference_mode() (PyTorch's fastest
no-grad mode), on a fixed batch of random images; one line of key=value
pairs with images/s, the parameter count and the peak RSS (ru_maxrss).
`params` prints every model's parameter count.
"""
import argparse
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

# The untied layers (C1) as bench_columnformer_torch.py writes them with
# torch.einsum; its directory is on the path when this runs as a script.
from bench_columnformer_torch import UntiedLayerNorm, UntiedLinear

IMAGE, CHANNELS, CLASSES = 32, 3, 10


def trunc_normal(*shape, std=0.02):
    """A parameter drawn as cf's Init::trunc_normal (cut at two std)."""
    t = torch.empty(*shape)
    nn.init.trunc_normal_(t, std=std, a=-2 * std, b=2 * std)
    return nn.Parameter(t)


def linear(d_in, d_out, bias=True):
    """cf's Linear (nn/linear.h): weight [out, in] trunc_normal(0.02), bias 0."""
    layer = nn.Linear(d_in, d_out, bias=bias)
    nn.init.trunc_normal_(layer.weight, std=0.02, a=-0.04, b=0.04)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


class PatchEmbed(nn.Module):
    """nn/tokenizer.h PatchEmbed: Conv2d(p x p, stride p, bias), then tokens."""

    def __init__(self, dim, patch=4):
        super().__init__()
        self.proj = nn.Conv2d(CHANNELS, dim, patch, stride=patch)
        nn.init.trunc_normal_(self.proj.weight, std=0.02, a=-0.04, b=0.04)
        nn.init.zeros_(self.proj.bias)

    def forward(self, images):
        return self.proj(images).flatten(2).transpose(1, 2)


class ConvTokenizer(nn.Module):
    """nn/tokenizer.h ConvTokenizer: n x (Conv2d k x k, no bias -> ReLU ->
    MaxPool2d(3, 2, 1)), channels 3 -> c -> ... -> D, Kaiming normal."""

    def __init__(self, dim, layers, channels, kernel=3):
        super().__init__()
        widths = [CHANNELS] + [channels] * (layers - 1) + [dim]
        self.conv_layers = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], kernel, padding=kernel // 2, bias=False)
            for i in range(layers))
        for conv in self.conv_layers:
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")

    def forward(self, images):
        h = images
        for conv in self.conv_layers:
            h = F.max_pool2d(F.relu(conv(h)), 3, 2, 1)
        return h.flatten(2).transpose(1, 2)


class Attention(nn.Module):
    """nn/attention.cpp without the section-8 options: q, k, v Linears without
    bias (qkv_bias false), the scale applied to q, softmax, A v, proj."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = (linear(dim, dim, bias=False) for _ in range(3))
        self.proj = linear(dim, dim)

    def forward(self, x):
        B, N, D = x.shape

        def split(t):
            return t.reshape(B, N, self.heads, D // self.heads).permute(0, 2, 1, 3)

        q = split(self.q(x)) * (1.0 / math.sqrt(D // self.heads))
        a = torch.softmax(q @ split(self.k(x)).transpose(2, 3), -1)
        o = (a @ split(self.v(x))).permute(0, 2, 1, 3).reshape(B, N, D)
        return self.proj(o)


class MLP(nn.Module):
    """nn/mlp.h: Linear(D, D_ff) -> GELU (erf) -> Linear(D_ff, D)."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = linear(dim, hidden), linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """nn/block.cpp, pre-norm: x + MHSA(LN1(x)), then x + MLP(LN2(x))."""

    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim), MLP(dim, hidden)

    def forward(self, x):
        h = x + self.attn(self.norm1(x))
        return h + self.mlp(self.norm2(h))


class SeqPool(nn.Module):
    """nn/pooling.h SeqPool: a = softmax_n(x g + c), z = sum_n a_n x_n."""

    def __init__(self, dim):
        super().__init__()
        self.weight, self.bias = trunc_normal(1, dim), nn.Parameter(torch.zeros(1))

    def forward(self, x):
        a = torch.softmax(F.linear(x, self.weight, self.bias), 1)
        return (a.transpose(1, 2) @ x).reshape(x.shape[0], x.shape[2])


# vit_lite_cpu and cct_2_3x2: nn/vision_transformer.cpp (VisionTransformer):
# tokenizer -> + learned positions (1, N, D) -> blocks -> LayerNorm -> pool
# (mean for ViT, SeqPool for CCT) -> head. No class token in either.
class VisionTransformer(nn.Module):
    def __init__(self, tokenizer, tokens, dim, depth, heads, hidden, seq_pool):
        super().__init__()
        self.tokenizer = tokenizer
        self.pos_embed = trunc_normal(1, tokens, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, hidden) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.attention_pool = SeqPool(dim) if seq_pool else None
        self.head = linear(dim, CLASSES)

    def forward(self, images):
        x = self.tokenizer(images) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return self.head(self.attention_pool(x) if self.attention_pool else x.mean(1))


def vit_lite_cpu():
    """ViT-Lite: patch 4, D 128, 6 blocks, 4 heads, MLP ratio 2, mean pool."""
    return VisionTransformer(PatchEmbed(128), 64, 128, 6, 4, 256, seq_pool=False)


def cct_2_3x2():
    """CCT-2/3x2: 2 convs 3x3 (64 channels), D 128, 2 blocks, 2 heads, MLP
    ratio 1, SeqPool."""
    return VisionTransformer(ConvTokenizer(128, 2, 64), 64, 128, 2, 2, 128, seq_pool=True)


# The PatchModel pipeline of nn/mixer_vision.cpp: PatchEmbed -> [+ learned
# positions] -> encoder -> LayerNorm -> mean pool -> head.
class PatchModel(nn.Module):
    def __init__(self, blocks, positions, dim=128):
        super().__init__()
        self.patch_embed = PatchEmbed(dim)
        self.pos_embed = trunc_normal(1, 64, dim) if positions else None
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(dim)
        self.head = linear(dim, CLASSES)

    def encode(self, x):
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, images):
        x = self.patch_embed(images)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        return self.head(self.norm(self.encode(x)).mean(1))


# mixer_cifar: nn/mixer.cpp MixerBlock (token MLP on LN(x) transposed, then
# channel MLP), N 64, D 128, D_S 64, D_C 512, 6 layers, no positions, the
# head's weight starting at zero.
class MixerBlock(nn.Module):
    def __init__(self, tokens=64, dim=128, token_hidden=64, channel_hidden=512):
        super().__init__()
        self.norm1, self.mlp_tokens = nn.LayerNorm(dim), MLP(tokens, token_hidden)
        self.norm2, self.mlp_channels = nn.LayerNorm(dim), MLP(dim, channel_hidden)

    def forward(self, x):
        u = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return u + self.mlp_channels(self.norm2(u))


def mixer_cifar():
    model = PatchModel([MixerBlock() for _ in range(6)], positions=False)
    nn.init.zeros_(model.head.weight)
    return model


# aft_simple_cifar: nn/aft.cpp, variant simple (w = 0, so the mix is one sum
# over positions), q, k, v with biases, D' = D = 128, 6 pre-norm blocks with
# MLP ratio 2, learned positions.
class AftSimple(nn.Module):
    def __init__(self, dim=128):
        super().__init__()
        self.q, self.k, self.v, self.proj = (linear(dim, dim) for _ in range(4))

    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        C = k.shape[-1]
        # aft_core: E = exp(K - max K), numerator and denominator in one sum.
        e = torch.exp(k - k.detach().amax(1, keepdim=True))
        mixed = torch.cat([e * v, e], 2).sum(1, keepdim=True)
        return self.proj(torch.sigmoid(q) * (mixed[..., :C] / mixed[..., C:]))


class AftBlock(nn.Module):
    def __init__(self, dim=128, hidden=256):
        super().__init__()
        self.norm1, self.aft = nn.LayerNorm(dim), AftSimple(dim)
        self.norm2, self.mlp = nn.LayerNorm(dim), MLP(dim, hidden)

    def forward(self, x):
        h = x + self.aft(self.norm1(x))
        return h + self.mlp(self.norm2(h))


def aft_simple_cifar():
    return PatchModel([AftBlock() for _ in range(6)], positions=True)


def sinusoidal(tokens, dim):
    """nn/position.cpp sinusoidal_positions: (1, N, D)."""
    n = torch.arange(tokens, dtype=torch.float64)[:, None]
    two_j = (torch.arange(dim) // 2 * 2).to(torch.float64)
    angle = n / torch.pow(10000.0, two_j / dim)
    table = torch.where(torch.arange(dim) % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.to(torch.float32)[None]


# ut_cifar: nn/universal.cpp, fixed halting: one Block (D 128, 4 heads, MLP
# ratio 2, no q/k/v bias) applied 6 times, h = Block(h + P^t) with P^t the
# position plus step coordinates (U1), a non-persistent buffer; no learned
# positions.
class UniversalTransformer(PatchModel):
    def __init__(self, dim=128, steps=6):
        super().__init__([Block(dim, 4, 256)], positions=False)
        timing = sinusoidal(steps + 1, dim)
        coordinates = torch.stack([sinusoidal(64, dim) + timing[:, t:t + 1] for t in range(1, steps + 1)])
        self.register_buffer("coordinates", coordinates, persistent=False)

    def encode(self, x):
        for coordinate in self.coordinates:
            x = self.blocks[0](x + coordinate)
        return x


# vision_columnformer_ff_tiny_cifar: nn/columnformer.cpp with the untied
# layers of nn/untied.cpp and the untied attention of
# nn/columnformer_attention.cpp: N 64 columns, D 128, 6 blocks; every
# LayerNorm, q, k and MLP Linear untied; 1 head with d_qk 64, no value or
# output projection (no_vp), a learned (N, N) attention bias with the
# Gaussian local init (C8); MLP ratio 1/6 (D_ff 21); learned positions;
# avg pool; the wiring cost (C9, lambda 0.1) of every block's map on the
# single sheet (C7) is the auxiliary loss. UntiedLinear and UntiedLayerNorm
# come from bench_columnformer_torch.py.
class ColumnBlock(nn.Module):
    def __init__(self, n=64, dim=128, d_qk=64, hidden=21, local_bias=None):
        super().__init__()
        self.norm1 = UntiedLayerNorm(n, dim)
        self.q, self.k = UntiedLinear(n, dim, d_qk, bias=False), UntiedLinear(n, dim, d_qk, bias=False)
        self.attn_bias = nn.Parameter(local_bias.clone())
        self.scale = 1.0 / math.sqrt(d_qk)
        self.norm2 = UntiedLayerNorm(n, dim)
        self.fc1, self.fc2 = UntiedLinear(n, dim, hidden), UntiedLinear(n, hidden, dim)

    def forward(self, x):
        h = self.norm1(x)
        scores = (self.q(h) @ self.k(h).transpose(1, 2)) * self.scale + self.attn_bias
        attention = torch.softmax(scores, -1)   # one head: (B, N, N)
        x = x + attention @ h                   # no_vp: A x, then the skip (C3)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x)))), attention


def sheet_distances(width=8, offset=2.0):
    """nn/geometry.cpp multilayer_geometry with one sheet: linspace(-w/2, w/2, w)
    on each axis, distances with offset^2 added (C7)."""
    at = torch.linspace(-width / 2, width / 2, width)
    y, x = torch.meshgrid(at, at, indexing="ij")
    points = torch.stack([y.flatten(), x.flatten()], 1)
    return torch.sqrt(torch.cdist(points, points) ** 2 + offset * offset)


class VisionColumnformer(nn.Module):
    def __init__(self, dim=128, depth=6, wiring_lambda=0.1):
        super().__init__()
        dist = sheet_distances()
        local = torch.clamp(-dist * dist / (2 * 2.0 ** 2), min=-8.0)   # (C8), sigma 2
        self.register_buffer("wiring", dist / dist.mean(), persistent=False)  # Wd, p = 1
        self.wiring_lambda = wiring_lambda
        self.patch_embed = PatchEmbed(dim)
        self.pos_embed = trunc_normal(1, 64, dim)
        self.blocks = nn.ModuleList(ColumnBlock(local_bias=local) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = linear(dim, CLASSES)
        self.maps = []

    def forward(self, images):
        x = self.patch_embed(images) + self.pos_embed
        self.maps = []
        for block in self.blocks:
            x, attention = block(x)
            self.maps.append(attention)
        return self.head(self.norm(x).mean(1))

    def aux_loss(self):
        """(C9): per map, mean over (b, query) of sum over keys of |Wd A| (one head)."""
        total = sum((m.abs() * self.wiring).sum(-1).mean() for m in self.maps)
        return total * (self.wiring_lambda / len(self.maps))


# cortical_baseline: nn/cortical.cpp with nn/cortical_block.cpp,
# nn/cortical_attention.cpp, nn/region_norm.cpp and nn/cortical_routing.cpp
# at the spec's CIFAR size (7.8): CCT tokenizer 3x2 with 128 channels, N 64,
# D 128, H 4, R 4 regions, T 4 steps, D_ff 256, feed-forward pattern with
# token interactions, RegionNorm with token statistics and a (R, N, D)
# affine, no micro or meso. The feed-forward routing blocks are fixed
# identities (non-persistent buffers, no parameters) that cf applies as
# products (a channel scale for the residual, an (N, N) matmul for the MLP);
# this side applies them the same way so both do the same arithmetic.
class RegionNorm(nn.Module):
    def __init__(self, regions, tokens, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(regions, tokens, dim))
        self.bias = nn.Parameter(torch.zeros(regions, tokens, dim))

    def forward(self, z):   # (R, B, N, D)
        return F.layer_norm(z, (z.shape[-1],)) * self.weight[:, None] + self.bias[:, None]


class MultiRegionAttention(nn.Module):
    def __init__(self, regions, dim, heads):
        super().__init__()
        width = dim // heads
        self.q, self.k, self.v = (trunc_normal(regions, heads, dim, width) for _ in range(3))
        self.o = trunc_normal(regions, dim, dim)

    def forward(self, z):
        R, B, N, D = z.shape
        H, d = self.q.shape[1], self.q.shape[3]
        rows = z.reshape(R, 1, B * N, D)

        def project(w):
            return (rows @ w).reshape(R, H, B, N, d)

        query = project(self.q) * (1.0 / math.sqrt(d))
        attention = torch.softmax(query @ project(self.k).transpose(3, 4), -1)
        heads = (attention @ project(self.v)).permute(0, 2, 3, 1, 4).reshape(R, B * N, H * d)
        return (heads @ self.o).reshape(R, B, N, D)


class RegionLinear(nn.Module):
    def __init__(self, regions, d_in, d_out):
        super().__init__()
        self.weight = trunc_normal(regions, d_in, d_out)
        self.bias = nn.Parameter(torch.zeros(regions, d_out))

    def forward(self, x):   # (R, M, in)
        return x @ self.weight + self.bias[:, None]


class CorticalBlock(nn.Module):
    def __init__(self, regions=4, steps=4, tokens=64, dim=128, heads=4, hidden=256):
        super().__init__()
        self.regions, self.steps = regions, steps
        self.norm1 = RegionNorm(regions, tokens, dim)
        self.attn = MultiRegionAttention(regions, dim, heads)
        self.norm2 = RegionNorm(regions, tokens, dim)
        self.fc1, self.fc2 = RegionLinear(regions, dim, hidden), RegionLinear(regions, hidden, dim)
        # Block (o, r) feeds region r into port o; feed-forward: o = r + 1 only,
        # port R being the readout.
        self.register_buffer("token_routing", torch.eye(tokens).expand(regions, tokens, tokens).clone(),
                             persistent=False)
        self.register_buffer("residual_routing", torch.ones(regions, dim), persistent=False)

    def step(self, z, first, last):
        R, B, N, D = z.shape
        z1 = self.attn(self.norm1(z)) + z                                         # (K1)
        hidden = F.gelu(self.fc1(self.norm2(z1).reshape(R, B * N, D)))
        m = self.fc2(hidden).reshape(R, B, N, D)
        ports = []
        for o in range(first, last):
            if o == 0:   # no block reaches region 1
                ports.append(torch.zeros(1, B, N, D))
                continue
            r = o - 1   # (K2): U(z'_r B_r) + U(W^{M,r} m_r)
            port = z1[r] * self.residual_routing[r] + self.token_routing[r] @ m[r]
            ports.append(port[None])
        return torch.cat(ports, 0)

    def forward(self, tokens):
        B, N, D = tokens.shape
        z = torch.cat([tokens[None], torch.zeros(self.regions - 1, B, N, D)], 0)
        for t in range(1, self.steps + 1):
            z = self.step(z, 0, self.regions) if t < self.steps else self.step(z, self.regions, self.regions + 1)
        return z.reshape(B, N, D)


class CorticalTransformer(nn.Module):
    def __init__(self, dim=128):
        super().__init__()
        self.tokenizer = ConvTokenizer(dim, 2, 128)
        self.pos_embed = trunc_normal(1, 64, dim)
        self.cortex = CorticalBlock(dim=dim)
        self.norm = nn.LayerNorm(dim)
        self.attention_pool = SeqPool(dim)
        self.head = linear(dim, CLASSES)

    def forward(self, images):
        x = self.tokenizer(images) + self.pos_embed
        return self.head(self.attention_pool(self.norm(self.cortex(x))))


MODELS = {
    "vit_lite_cpu": vit_lite_cpu,
    "cct_2_3x2": cct_2_3x2,
    "mixer_cifar": mixer_cifar,
    "vision_columnformer_ff_tiny_cifar": VisionColumnformer,
    "aft_simple_cifar": aft_simple_cifar,
    "ut_cifar": UniversalTransformer,
    "cortical_baseline": CorticalTransformer,
}


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def current_rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_model(args):
    base_rss = current_rss_mb()
    torch.manual_seed(0)
    model = MODELS[args.name]()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.05)
    images = torch.randn(args.batch, CHANNELS, IMAGE, IMAGE)
    labels = torch.arange(args.batch) % CLASSES
    aux = getattr(model, "aux_loss", None)

    def train_step():
        opt.zero_grad(set_to_none=True)   # cf's zero_grad drops the gradients too
        loss = F.cross_entropy(model(images), labels)
        if aux is not None:
            loss = loss + aux()
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        train_step()
    start = time.perf_counter()
    for _ in range(args.steps):
        train_step()
    train_rate = args.batch * args.steps / (time.perf_counter() - start)

    model.eval()
    with torch.inference_mode():
        model(images)   # untimed, as the training steps' warm-up
        start = time.perf_counter()
        for _ in range(args.infer):
            model(images)
        infer_rate = args.batch * args.infer / (time.perf_counter() - start)

    print(f"side=torch model={args.name} batch={args.batch} threads={args.threads} "
          f"params={parameter_count(model)} train_img_s={train_rate:.2f} infer_img_s={infer_rate:.2f} "
          f"rss_base_mb={base_rss:.1f} peak_rss_mb={peak_rss_mb():.1f} steps={args.steps} "
          f"infer={args.infer} torch={torch.__version__}")


def run_autograd(args):
    """bench_train autograd: x = x * 1.0001 and x = x + 0.0001 alternately on
    16 elements, N recorded ops, summed, backward; the median of R runs."""
    us_per_op = []
    for _ in range(args.runs):
        x0 = torch.ones(16, requires_grad=True)
        start = time.perf_counter()
        x = x0
        for i in range(args.ops):
            x = x * 1.0001 if i % 2 == 0 else x + 0.0001
        x.sum().backward()
        us_per_op.append((time.perf_counter() - start) * 1e6 / args.ops)
    print(f"side=torch model=autograd threads={args.threads} ops={args.ops} runs={args.runs} "
          f"us_per_op={statistics.median(us_per_op):.3f} peak_rss_mb={peak_rss_mb():.1f} "
          f"torch={torch.__version__}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(MODELS) + ["autograd", "params"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--infer", type=int, default=5)
    parser.add_argument("--ops", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    # PyTorch's BLAS here is OpenBLAS (pthreads), which sizes its own thread
    # pool when it is loaded and ignores torch.set_num_threads: without this
    # a 1-thread run would multiply matrices on every core. So the count goes
    # into its environment and the process starts again (compare_torch.sh
    # sets it beforehand, so it never pays for the restart).
    if os.environ.get("OPENBLAS_NUM_THREADS") != str(args.threads):
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
        os.execv(sys.executable, [sys.executable] + sys.argv)
    torch.set_num_threads(args.threads)
    if args.name == "params":
        for name, make in MODELS.items():
            print(f"{name} {parameter_count(make())}")
    elif args.name == "autograd":
        run_autograd(args)
    else:
        run_model(args)


if __name__ == "__main__":
    sys.exit(main())
