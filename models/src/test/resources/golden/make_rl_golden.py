#!/usr/bin/env python3
"""Golden values of the GRPO and PPO losses, computed in PyTorch (float64) from their definitions.

Run with Debian's python3-torch:  /usr/bin/python3 make_rl_golden.py
Writes rl.json beside this script: the fixed inputs (drawn once from a seeded generator and stored, so
the Java test reads the very same numbers) and the outputs. CI never runs this; RlGoldenValuesTest
reads the JSON.

Definitions, written out here as TRL and veRL define them:
- GRPO advantage of sample i of a group: (r_i - mean(r)) / (std(r) + eps), std with Bessel's correction
  (torch.std's default, as TRL and veRL); Dr. GRPO drops the division.
- Clipped surrogate per completion token, with r = exp(logp - old):
      -min(r A, clamp(r, 1 - clip_low, 1 + clip_high) A) + beta * (exp(ref - logp) - (ref - logp) - 1)
  averaged over all completion tokens of the batch (token level, DAPO / Dr. GRPO) or per sequence and
  then over sequences (sequence level, the original GRPO). With veRL's dual clip c (clip_ratio_c), a token
  with A < 0 has min(-c A, that clipped term) as its policy term (torch.where on A < 0, as veRL writes it).
  GSPO (TRL's importance_sampling_level="sequence"): r is exp of the masked mean of lp - old over the row,
  the same for every token of the row.
- PPO: per-token reward -beta_kl * (old - ref) plus the sequence score on its last token; GAE(gamma,
  lambda) with V = 0 after the last token; returns = advantages + values; advantages whitened over the
  batch's tokens with the unbiased variance, (A - mean) / sqrt(var + 1e-8) (TRL's masked_whiten); loss =
  token mean of the clipped surrogate + vf_coef * token mean of
  0.5 * max((V - R)^2, (clamp(V, V_old - c, V_old + c) - R)^2).
"""
import json
import os

import torch

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(20261130)

B, T, G = 6, 7, 3
mask = (torch.rand(B, T, generator=gen) < 0.8).double()
mask[:, 0] = 1.0
old = -torch.rand(B, T, generator=gen) * 3 - 0.05
# current log-probs: near the old ones, some far enough to leave the clip range
logp = old + torch.randn(B, T, generator=gen) * 0.3
ref = old + torch.randn(B, T, generator=gen) * 0.2
rewards = torch.tensor([1.0, 0.0, 1.0, 0.5, 0.25, 0.0])
values = torch.randn(B, T, generator=gen) * 0.5
old_values = values + torch.randn(B, T, generator=gen) * 0.3
scores = torch.randn(B, generator=gen)

CLIP_LOW, CLIP_HIGH, BETA, EPS = 0.2, 0.28, 0.04, 1e-4
GAMMA, LAMBDA, KL_COEF, VF_COEF, VALUE_CLIP = 0.99, 0.95, 0.05, 0.1, 0.2


def grpo_advantages(r, scale):
    groups = r.view(-1, G)
    centred = groups - groups.mean(dim=1, keepdim=True)
    if scale:
        centred = centred / (groups.std(dim=1, keepdim=True) + EPS)
    return centred.reshape(-1)


def surrogate(lp, adv_tokens, beta, clip_c=0.0, ratio_level="token"):
    if ratio_level == "sequence":
        log_ratio = ((lp - old) * mask).sum(dim=1, keepdim=True) / mask.sum(dim=1, keepdim=True)
        ratio = torch.exp(log_ratio).expand(B, T)
    else:
        ratio = torch.exp(lp - old)
    per_token = -torch.min(ratio * adv_tokens, torch.clamp(ratio, 1 - CLIP_LOW, 1 + CLIP_HIGH) * adv_tokens)
    if clip_c > 0:
        per_token = torch.where(adv_tokens < 0, torch.min(-clip_c * adv_tokens, per_token), per_token)
    if beta > 0:
        delta = ref - lp
        per_token = per_token + beta * (torch.exp(delta) - delta - 1)
    return per_token


def grpo_case(level, scale, beta, clip_c=0.0, ratio_level="token"):
    adv = grpo_advantages(rewards, scale)
    lp = logp.clone().requires_grad_(True)
    per_token = surrogate(lp, adv[:, None].expand(B, T), beta, clip_c, ratio_level)
    if level == "token":
        loss = (per_token * mask).sum() / mask.sum()
    else:
        loss = ((per_token * mask).sum(dim=1) / mask.sum(dim=1)).mean()
    loss.backward()
    return {"level": level, "scale_by_std": scale, "beta": beta, "clip_ratio_c": clip_c, "ratio": ratio_level,
            "advantages": adv.tolist(),
            "loss": loss.item(), "grad": lp.grad.reshape(-1).tolist()}


def ppo_case():
    # per-token rewards: k1 KL penalty, the score on each sequence's last counted token
    token_rewards = -KL_COEF * (old - ref) * mask
    last = (mask * torch.arange(T)).argmax(dim=1)
    for b in range(B):
        token_rewards[b, last[b]] += scores[b]
    advantages = torch.zeros(B, T)
    for b in range(B):
        idx = [t for t in range(T) if mask[b, t] > 0]
        running, next_value = 0.0, 0.0
        for t in reversed(idx):
            delta = token_rewards[b, t] + GAMMA * next_value - old_values[b, t]
            running = delta + GAMMA * LAMBDA * running
            advantages[b, t] = running
            next_value = old_values[b, t]
    returns = advantages + old_values
    mean = (advantages * mask).sum() / mask.sum()
    var = (((advantages - mean) ** 2) * mask).sum() / mask.sum()
    var = var * mask.sum() / (mask.sum() - 1)
    whitened = (advantages - mean) * torch.rsqrt(var + 1e-8) * mask
    lp = logp.clone().requires_grad_(True)
    v = values.clone().requires_grad_(True)
    pg = (surrogate(lp, whitened, 0.0) * mask).sum() / mask.sum()
    clipped_v = torch.clamp(v, old_values - VALUE_CLIP, old_values + VALUE_CLIP)
    vf = 0.5 * (torch.max((v - returns) ** 2, (clipped_v - returns) ** 2) * mask).sum() / mask.sum()
    loss = pg + VF_COEF * vf
    loss.backward()
    return {"token_rewards": token_rewards.reshape(-1).tolist(), "advantages": whitened.reshape(-1).tolist(),
            "returns": (returns * mask).reshape(-1).tolist(), "policy_loss": pg.item(), "value_loss": vf.item(),
            "loss": loss.item(), "grad_logp": lp.grad.reshape(-1).tolist(), "grad_values": v.grad.reshape(-1).tolist()}


out = {
    "shape": [B, T], "group_size": G,
    "clip_low": CLIP_LOW, "clip_high": CLIP_HIGH, "eps": EPS,
    "gamma": GAMMA, "lambda": LAMBDA, "kl_coef": KL_COEF, "vf_coef": VF_COEF, "value_clip": VALUE_CLIP,
    "mask": mask.reshape(-1).tolist(), "logp": logp.reshape(-1).tolist(), "old": old.reshape(-1).tolist(),
    "ref": ref.reshape(-1).tolist(), "rewards": rewards.tolist(), "values": values.reshape(-1).tolist(),
    "old_values": old_values.reshape(-1).tolist(), "scores": scores.tolist(),
    "grpo": [grpo_case("token", True, BETA), grpo_case("sequence", True, BETA), grpo_case("token", False, 0.0),
             grpo_case("token", True, BETA, clip_c=1.1), grpo_case("sequence", True, BETA, ratio_level="sequence"),
             grpo_case("token", True, BETA, ratio_level="sequence")],
    "ppo": ppo_case(),
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "rl.json"), "w") as f:
    json.dump(out, f, indent=1)
print("wrote rl.json")
