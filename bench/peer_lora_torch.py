#!/usr/bin/env python3
"""The PyTorch peer of `whetstone bench --lora-0.5b`: the same model, steps and fields, one JSON line.

A random-init model of Qwen2.5-0.5B's shape (24 layers, width 896, 14 heads, 2 KV heads, head size 64, SwiGLU
4864, vocabulary 151,936, tied embeddings, q/k/v biases, RMSNorm eps 1e-6, rope theta 1e6), frozen, with LoRA
rank 8 (alpha 16) on q, k, v, o, gate, up and down. A step is forward over one sequence, cross-entropy,
backward into the adapters only, global-norm clipping at 1.0 and AdamW on the adapters, in fp32. Then KV-cache
sampling at temperature 1: 4 prompts of 32 tokens, 32 new tokens each, batched.

Needs Debian's python3-torch and libopenblas0-openmp. Usage:
  /usr/bin/python3 bench/peer_lora_torch.py [--threads 2] [--steps 3] [--seq-len 512]
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

V, C, L, H, K, D, FF = 151936, 896, 24, 14, 2, 64, 4864
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoraLinear(nn.Module):
    def __init__(self, base, rank=8, alpha=16):
        super().__init__()
        self.base = base
        self.a = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.b = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + (x @ self.a.t() @ self.b.t()) * self.scale


class RmsNorm(nn.Module):
    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, cos, sin):  # x [B, heads, T, D]; rotate_half layout
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm, self.post_attention_layernorm = RmsNorm(C), RmsNorm(C)
        self.q_proj, self.k_proj = nn.Linear(C, H * D), nn.Linear(C, K * D)
        self.v_proj, self.o_proj = nn.Linear(C, K * D), nn.Linear(H * D, C, bias=False)
        self.gate_proj, self.up_proj = nn.Linear(C, FF, bias=False), nn.Linear(C, FF, bias=False)
        self.down_proj = nn.Linear(FF, C, bias=False)

    def forward(self, x, cos, sin, cache=None):
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, H, D).transpose(1, 2)
        k = self.k_proj(h).view(b, t, K, D).transpose(1, 2)
        v = self.v_proj(h).view(b, t, K, D).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if cache is not None:
            if cache:
                k, v = torch.cat((cache[0], k), dim=2), torch.cat((cache[1], v), dim=2)
            cache[:] = [k, v]
        k, v = k.repeat_interleave(H // K, dim=1), v.repeat_interleave(H // K, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        total = k.shape[2]
        mask = torch.ones(t, total, dtype=torch.bool).triu(total - t + 1)
        y = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ v
        x = x + self.o_proj(y.transpose(1, 2).reshape(b, t, H * D))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Model(nn.Module):
    def __init__(self, max_len):
        super().__init__()
        self.embed = nn.Embedding(V, C)
        self.layers = nn.ModuleList(Layer() for _ in range(L))
        self.norm = RmsNorm(C)
        inv = 1.0 / (1e6 ** (torch.arange(0, D, 2).float() / D))
        angles = torch.arange(max_len).float()[:, None] * inv[None, :]
        angles = torch.cat((angles, angles), dim=-1)
        self.cos, self.sin = angles.cos(), angles.sin()

    def forward(self, tokens, start=0, caches=None):
        t = tokens.shape[1]
        cos, sin = self.cos[start:start + t], self.sin[start:start + t]
        x = self.embed(tokens)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i])
        return self.norm(x) @ self.embed.weight.t()


def add_lora(model):
    for layer in model.layers:
        for name in TARGETS:
            setattr(layer, name, LoraLinear(getattr(layer, name)))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--seq-len", type=int, default=512)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = Model(max(args.seq_len, 64))
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.normal_(0, 0.02)
    for p in model.parameters():
        p.requires_grad_(False)
    add_lora(model)
    adapters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(adapters, lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    generator = torch.Generator().manual_seed(1234)
    tokens = torch.randint(0, V, (1, args.seq_len + 1), generator=generator)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(inputs).view(-1, V), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(adapters, 1.0)
        optimizer.step()
        return float(loss)

    loss_first = step()
    times = []
    loss_last = float("nan")
    for _ in range(args.steps):
        start = time.perf_counter()
        loss_last = step()
        times.append((time.perf_counter() - start) * 1000)
    after_training = peak_rss_mb()

    prompts = torch.randint(0, V, (4, 32), generator=generator)

    def generate():
        caches = [[] for _ in range(L)]
        with torch.no_grad():
            logits = model(prompts, 0, caches)[:, -1]
            out = []
            for i in range(32):
                token = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)
                out.append(token)
                if i < 31:
                    logits = model(token, 32 + i, caches)[:, -1]
        return torch.cat(out, dim=1)

    generate()
    start = time.perf_counter()
    generated = generate()
    seconds = time.perf_counter() - start
    step_ms = statistics.median(times)
    print(json.dumps({"config": "qwen2.5-0.5b-shape", "engine": "torch " + torch.__version__, "kind": "lora-sft",
                      "threads": args.threads, "seq_len": args.seq_len, "lora_rank": 8, "step_ms": round(step_ms),
                      "tokens_per_s": round(args.seq_len / (step_ms / 1000), 1),
                      "peak_rss_mb_training": round(after_training), "peak_rss_mb": round(peak_rss_mb()),
                      "generation_tokens_per_s": round(generated.numel() / seconds, 1),
                      "generation": "4 prompts x 32 tokens, 32 new", "loss_first": round(loss_first, 4),
                      "loss_last": round(loss_last, 4)}))


if __name__ == "__main__":
    main()
