#!/usr/bin/env python3
"""Golden logits and loss for tiny GPT-2 and Llama models, computed in PyTorch (float64).

Run with Debian's python3-torch:  /usr/bin/python3 make_golden.py
Writes gpt2.json and llama.json beside this script. CI never runs this; GoldenValuesTest reads the JSON.

Weights come from a closed formula, so no weight file is needed: the tensors of each model are listed
in a fixed order with their Hugging Face names and shapes, and element j (row-major) of tensor number t is
    scale * sin(0.37 * j + 1.1 * t + 0.5) + base
with base 1 and scale 0.1 for norm weights, base 0 and scale 0.2 for everything else.
The Java test rebuilds the same tensors and maps them into the engine's layout.

The models are written from their definitions, not taken from a library:
- GPT-2: pre-LayerNorm (eps 1e-5), Conv1D weights [in, out], tanh-GELU, learned positions, tied head.
- Llama: RMSNorm (eps 1e-5), rotary embedding over adjacent pairs (2i, 2i+1) as in Meta's reference
  model.py / llama2.c / GGUF, SwiGLU, grouped-query attention (K < H), untied head.
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)

TOKENS = [[5, 17, 3, 60, 22, 9, 41, 0], [63, 12, 12, 7, 30, 55, 2, 18]]
# loss mask over positions 0..T-2 (targets are the next tokens); last position has no target
MASK = [[0, 0, 1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 1, 1, 1, 0]]


def formula(t, shape, norm):
    n = 1
    for d in shape:
        n *= d
    j = torch.arange(n, dtype=torch.float64)
    scale, base = (0.1, 1.0) if norm else (0.2, 0.0)
    return (scale * torch.sin(0.37 * j + 1.1 * t + 0.5) + base).reshape(shape)


def make_weights(specs):
    return {name: formula(t, shape, norm) for t, (name, shape, norm) in enumerate(specs)}


def layer_norm(x, w, b):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-5) * w + b


def rms_norm(x, w):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5) * w


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def causal_attention(q, k, v):
    # q [B, H, T, D], k/v [B, H, T, D]
    t = q.shape[2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def masked_ce(logits, tokens):
    logp = torch.log_softmax(logits, dim=-1)
    total, count = 0.0, 0
    for b in range(len(tokens)):
        for t in range(len(tokens[b]) - 1):
            if MASK[b][t]:
                total -= logp[b, t, tokens[b][t + 1]].item()
                count += 1
    return total / count


def gpt2(V=64, C=32, L=2, H=4, TMAX=16):
    specs = [("wte.weight", (V, C), False), ("wpe.weight", (TMAX, C), False)]
    for i in range(L):
        p = f"h.{i}."
        specs += [(p + "ln_1.weight", (C,), True), (p + "ln_1.bias", (C,), False),
                  (p + "attn.c_attn.weight", (C, 3 * C), False), (p + "attn.c_attn.bias", (3 * C,), False),
                  (p + "attn.c_proj.weight", (C, C), False), (p + "attn.c_proj.bias", (C,), False),
                  (p + "ln_2.weight", (C,), True), (p + "ln_2.bias", (C,), False),
                  (p + "mlp.c_fc.weight", (C, 4 * C), False), (p + "mlp.c_fc.bias", (4 * C,), False),
                  (p + "mlp.c_proj.weight", (4 * C, C), False), (p + "mlp.c_proj.bias", (C,), False)]
    specs += [("ln_f.weight", (C,), True), ("ln_f.bias", (C,), False)]
    w = make_weights(specs)
    tokens = torch.tensor(TOKENS)
    B, T = tokens.shape
    D = C // H
    x = w["wte.weight"][tokens] + w["wpe.weight"][:T]
    for i in range(L):
        p = f"h.{i}."
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"])
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=-1)
        q, k, v = [z.reshape(B, T, H, D).transpose(1, 2) for z in (q, k, v)]
        y = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"])
        h = gelu_tanh(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    f = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"])
    logits = f @ w["wte.weight"].T
    config = dict(family="gpt2", vocab_size=V, width=C, layers=L, heads=H, kv_heads=H, ffn_hidden=4 * C,
                  max_seq_len=TMAX)
    return config, specs, logits


def rope_pairs(x, theta=10000.0):
    # x [B, H, T, D]; rotate adjacent pairs (2i, 2i+1) by t * theta^(-2i/D)
    B, H, T, D = x.shape
    i = torch.arange(D // 2, dtype=torch.float64)
    freq = theta ** (-2 * i / D)
    angle = torch.arange(T, dtype=torch.float64)[:, None] * freq[None, :]
    cos, sin = torch.cos(angle), torch.sin(angle)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def llama(V=64, C=32, L=2, H=4, K=2, F=48, TMAX=16):
    D = C // H
    specs = [("model.embed_tokens.weight", (V, C), False)]
    for i in range(L):
        p = f"model.layers.{i}."
        specs += [(p + "input_layernorm.weight", (C,), True),
                  (p + "self_attn.q_proj.weight", (H * D, C), False),
                  (p + "self_attn.k_proj.weight", (K * D, C), False),
                  (p + "self_attn.v_proj.weight", (K * D, C), False),
                  (p + "self_attn.o_proj.weight", (C, H * D), False),
                  (p + "post_attention_layernorm.weight", (C,), True),
                  (p + "mlp.gate_proj.weight", (F, C), False),
                  (p + "mlp.up_proj.weight", (F, C), False),
                  (p + "mlp.down_proj.weight", (C, F), False)]
    specs += [("model.norm.weight", (C,), True), ("lm_head.weight", (V, C), False)]
    w = make_weights(specs)
    tokens = torch.tensor(TOKENS)
    B, T = tokens.shape
    x = w["model.embed_tokens.weight"][tokens]
    for i in range(L):
        p = f"model.layers.{i}."
        a = rms_norm(x, w[p + "input_layernorm.weight"])
        q = (a @ w[p + "self_attn.q_proj.weight"].T).reshape(B, T, H, D).transpose(1, 2)
        k = (a @ w[p + "self_attn.k_proj.weight"].T).reshape(B, T, K, D).transpose(1, 2)
        v = (a @ w[p + "self_attn.v_proj.weight"].T).reshape(B, T, K, D).transpose(1, 2)
        q, k = rope_pairs(q), rope_pairs(k)
        k = k.repeat_interleave(H // K, dim=1)  # query head h uses kv head h // (H/K)
        v = v.repeat_interleave(H // K, dim=1)
        y = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, H * D)
        x = x + y @ w[p + "self_attn.o_proj.weight"].T
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"])
        gate = m @ w[p + "mlp.gate_proj.weight"].T
        up = m @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    f = rms_norm(x, w["model.norm.weight"])
    logits = f @ w["lm_head.weight"].T
    config = dict(family="llama", vocab_size=V, width=C, layers=L, heads=H, kv_heads=K, ffn_hidden=F,
                  max_seq_len=TMAX)
    return config, specs, logits


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for name, build in (("gpt2", gpt2), ("llama", llama)):
        config, specs, logits = build()
        out = dict(config=config, tensors=[[n, list(s), norm] for n, s, norm in specs], tokens=TOKENS, mask=MASK,
                   logits=logits.reshape(-1).tolist(), loss=masked_ce(logits, TOKENS),
                   generator=f"make_golden.py, torch {torch.__version__}, float64")
        with open(os.path.join(here, name + ".json"), "w") as f:
            json.dump(out, f)
        print(name, "loss", out["loss"])


if __name__ == "__main__":
    main()
