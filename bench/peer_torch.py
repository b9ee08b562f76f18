#!/usr/bin/env python3
"""The PyTorch peer of `whetstone bench`: the same model sizes, step and fields, one JSON line per run.

Needs Debian's python3-torch and libopenblas0-openmp (without it torch falls back to reference BLAS).
Usage: /usr/bin/python3 bench/peer_torch.py CONFIG FAMILY [--threads 2] [--warmup 10] [--steps 10]
Each run should be its own process (peak RSS is per process); bench/compare does that.

The models mirror the engine's: GPT-2 (pre-LayerNorm eps 1e-5, tanh-GELU, learned positions, tied head)
and Llama (RMSNorm, RoPE on adjacent pairs, SwiGLU with 8C/3 rounded up to 32, K = H, untied head).
A step is forward, masked cross-entropy, backward, global-norm clipping at 1.0 and AdamW
(betas 0.9/0.95, eps 1e-8, decay 0.1 on matrices; foreach implementation), in fp32.
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

SHAPES = {  # V, C, L, H, T, B
    "A": (512, 128, 4, 4, 128, 8),
    "B": (8192, 384, 6, 6, 256, 8),
    "C": (50304, 768, 12, 12, 128, 4),
}


def causal_attention(q, k, v):
    t = q.shape[-2]
    scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)
    return torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ v


class Gpt2Block(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.h = h
        self.ln_1, self.ln_2 = nn.LayerNorm(c, eps=1e-5), nn.LayerNorm(c, eps=1e-5)
        self.c_attn, self.c_proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.c_fc, self.mlp_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = [z.view(b, t, self.h, c // self.h).transpose(1, 2) for z in (q, k, v)]
        y = causal_attention(q, k, v).transpose(1, 2).reshape(b, t, c)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, v, c, l, h, t):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(v, c), nn.Embedding(t, c)
        self.blocks = nn.ModuleList(Gpt2Block(c, h) for _ in range(l))
        self.ln_f = nn.LayerNorm(c, eps=1e-5)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, tokens):
        x = self.wte(tokens) + self.wpe(torch.arange(tokens.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T


class RmsNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.weight


def rope(x, cos, sin):
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class LlamaBlock(nn.Module):
    def __init__(self, c, h, f):
        super().__init__()
        self.h = h
        self.attn_norm, self.ffn_norm = RmsNorm(c), RmsNorm(c)
        self.wqkv, self.wo = nn.Linear(c, 3 * c, bias=False), nn.Linear(c, c, bias=False)
        self.w_gate_up, self.w_down = nn.Linear(c, 2 * f, bias=False), nn.Linear(f, c, bias=False)

    def forward(self, x, cos, sin):
        b, t, c = x.shape
        q, k, v = self.wqkv(self.attn_norm(x)).split(c, dim=2)
        q, k, v = [z.view(b, t, self.h, c // self.h).transpose(1, 2) for z in (q, k, v)]
        y = causal_attention(rope(q, cos, sin), rope(k, cos, sin), v).transpose(1, 2).reshape(b, t, c)
        x = x + self.wo(y)
        gate, up = self.w_gate_up(self.ffn_norm(x)).chunk(2, dim=-1)
        return x + self.w_down(F.silu(gate) * up)


class Llama(nn.Module):
    def __init__(self, v, c, l, h, t):
        super().__init__()
        f = (8 * c // 3 + 31) // 32 * 32
        self.embed = nn.Embedding(v, c)
        self.blocks = nn.ModuleList(LlamaBlock(c, h, f) for _ in range(l))
        self.norm = RmsNorm(c)
        self.lm_head = nn.Linear(c, v, bias=False)
        d = c // h
        angle = torch.arange(t)[:, None] * (10000.0 ** (-2 * torch.arange(d // 2) / d))[None, :]
        self.register_buffer("cos", torch.cos(angle))
        self.register_buffer("sin", torch.sin(angle))
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, tokens):
        x = self.embed(tokens)
        t = tokens.shape[1]
        for block in self.blocks:
            x = block(x, self.cos[:t], self.sin[:t])
        return self.lm_head(self.norm(x))


def gpt2_step(model, tokens, position, cache):
    """One decode step of GPT-2 over tokens [B, n] at positions position..position+n-1, filling cache."""
    b, n = tokens.shape
    x = model.wte(tokens) + model.wpe(torch.arange(position, position + n))
    for i, block in enumerate(model.blocks):
        c = x.shape[-1]
        h = block.h
        q, k, v = block.c_attn(block.ln_1(x)).split(c, dim=2)
        q, k, v = [z.view(b, n, h, c // h).transpose(1, 2) for z in (q, k, v)]
        keys, values = cache[i]
        keys[:, :, position:position + n] = k
        values[:, :, position:position + n] = v
        y = attend(q, keys[:, :, :position + n], values[:, :, :position + n], position)
        x = x + block.c_proj(y.transpose(1, 2).reshape(b, n, c))
        x = x + block.mlp_proj(F.gelu(block.c_fc(block.ln_2(x)), approximate="tanh"))
    return model.ln_f(x[:, -1]) @ model.wte.weight.T


def llama_step(model, tokens, position, cache):
    b, n = tokens.shape
    x = model.embed(tokens)
    cos, sin = model.cos[position:position + n], model.sin[position:position + n]
    for i, block in enumerate(model.blocks):
        c = x.shape[-1]
        h = block.h
        q, k, v = block.wqkv(block.attn_norm(x)).split(c, dim=2)
        q, k, v = [z.view(b, n, h, c // h).transpose(1, 2) for z in (q, k, v)]
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        keys, values = cache[i]
        keys[:, :, position:position + n] = k
        values[:, :, position:position + n] = v
        y = attend(q, keys[:, :, :position + n], values[:, :, :position + n], position)
        x = x + block.wo(y.transpose(1, 2).reshape(b, n, c))
        gate, up = block.w_gate_up(block.ffn_norm(x)).chunk(2, dim=-1)
        x = x + block.w_down(F.silu(gate) * up)
    return model.lm_head(model.norm(x[:, -1]))


def attend(q, keys, values, position):
    n, t = q.shape[-2], keys.shape[-2]
    scores = (q @ keys.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    if n > 1:  # prefill: causal within the new tokens
        mask = torch.ones(n, t, dtype=torch.bool).triu(t - n + 1)
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ values


def generation(model, family, v, c, l, h, prompts, prompt_tokens, new_tokens, runs, samples=1):
    """prompts x samples rows: each prompt prefilled once, its cache copied to its samples' rows."""
    step = gpt2_step if family == "gpt2" else llama_step
    generator = torch.Generator().manual_seed(7)
    batch = torch.randint(0, v, (prompts, prompt_tokens), generator=generator)
    d = c // h

    def run():
        total = prompt_tokens + new_tokens
        cache = [(torch.zeros(prompts, h, total, d), torch.zeros(prompts, h, total, d)) for _ in range(l)]
        with torch.no_grad():
            logits = step(model, batch, 0, cache)
            if samples > 1:
                cache = [(k.repeat_interleave(samples, 0), v_.repeat_interleave(samples, 0)) for k, v_ in cache]
                logits = logits.repeat_interleave(samples, 0)
            out = []
            for i in range(new_tokens):
                token = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)
                out.append(token)
                if i + 1 < new_tokens:
                    logits = step(model, token, prompt_tokens + i, cache)
        return torch.cat(out, dim=1)

    for _ in range(3):
        run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        tokens = run()
        times.append(time.perf_counter() - start)
        assert tokens.shape == (prompts * samples, new_tokens)
    median = statistics.median(times)
    return {"prompts": prompts, "samples": samples, "prompt_tokens": prompt_tokens, "new_tokens": new_tokens,
            "seconds": round(median, 4), "tokens_per_s": round(prompts * samples * new_tokens / median, 1)}


def gemm_peak():
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    best = 0.0
    for _ in range(6):
        start = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * 2048 ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", choices=sorted(SHAPES))
    parser.add_argument("family", choices=["gpt2", "llama"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--generate", action="store_true",
                        help="time KV-cache sampling instead: 8 prompts of 32 tokens, 64 new tokens each")
    parser.add_argument("--samples", type=int, default=1,
                        help="with --generate: samples per prompt (each prompt prefilled once, its cache copied)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    v, c, l, h, t, b = SHAPES[args.config]
    model = (Gpt2 if args.family == "gpt2" else Llama)(v, c, l, h, max(t, 96) if args.generate else t)
    if args.generate:
        result = generation(model.eval(), args.family, v, c, l, h, 8, 32, 64, 7, args.samples)
        print(json.dumps(dict(config=args.config, family=args.family, engine="pytorch-" + torch.__version__,
                              kind="generation", **result,
                              peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))))
        return
    params = sum(p.numel() for p in model.parameters())
    lookup_only = model.wpe.weight.numel() if args.family == "gpt2" else model.embed.weight.numel()
    matmul_params = params - lookup_only
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-4, betas=(0.9, 0.95), eps=1e-8, foreach=True)
    generator = torch.Generator().manual_seed(1234)
    tokens = torch.randint(0, v, (b, t), generator=generator)
    targets = torch.cat([tokens[:, 1:], torch.randint(0, v, (b, 1), generator=generator)], dim=1)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(tokens).view(-1, v), targets.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.item()

    loss_first = step()
    for _ in range(args.warmup - 1):
        step()
    times, loss_last = [], float("nan")
    for _ in range(args.steps):
        start = time.perf_counter()
        loss_last = step()
        times.append((time.perf_counter() - start) * 1e3)
    forward = []
    with torch.no_grad():
        for _ in range(args.steps):
            start = time.perf_counter()
            F.cross_entropy(model(tokens).view(-1, v), targets.view(-1))
            forward.append((time.perf_counter() - start) * 1e3)
    ms = statistics.median(times)
    gemm = gemm_peak()
    flops = 6 * matmul_params * b * t + 12 * l * c * t * t * b
    print(json.dumps({
        "config": args.config, "family": args.family, "engine": "pytorch-" + torch.__version__,
        "threads": args.threads, "params": params, "ms_per_step": round(ms, 1),
        "ms_per_step_min": round(min(times), 1),
        "tokens_per_s": round(b * t / (ms / 1e3), 1), "gemm_gflops": round(gemm, 1),
        "mfu": round(flops / (ms / 1e3) / (gemm * 1e9), 3), "forward_ms": round(statistics.median(forward), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "loss_first": round(loss_first, 4), "loss_last": round(loss_last, 4)}))


if __name__ == "__main__":
    main()
