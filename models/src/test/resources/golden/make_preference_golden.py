#!/usr/bin/env python3
"""Golden values of the preference losses (DPO family and KTO), computed in PyTorch (float64).

Run with Debian's python3-torch:  /usr/bin/python3 make_preference_golden.py
Writes preference.json beside this script: the fixed inputs (per-token log-probs of a batch whose rows
2i and 2i+1 are pair i's chosen and rejected completions, the loss mask, the reference's per-token
log-probs, KTO labels) and, per case, the loss, its gradient with respect to every per-token log-prob
(autograd) and the reported numbers. CI never runs this; PreferenceGoldenValuesTest reads the JSON.

Definitions, as TRL writes them (DPOTrainer.dpo_loss, CPOTrainer for SimPO, ORPOTrainer.odds_ratio_loss,
KTOTrainer.kto_loss), with sequence log-probs = masked sums of per-token log-probs:
- sigmoid (DPO; label smoothing e gives conservative DPO): h = (pc - pr) - (rc - rr);
  loss = -(1 - e) logsigmoid(beta h) - e logsigmoid(-beta h).
- dpop (DPO-Positive, Pal et al. 2024; not in TRL): -logsigmoid(beta (h - lambda max(0, rc - c))) over sums.
- ipo: the same h over per-token mean log-probs (TRL divides by the completion length for ipo);
  loss = (h - 1 / (2 beta))^2.
- simpo: over per-token means, z = beta (c - r) - gamma; loss as sigmoid's with z.
- orpo: over per-token means, log_odds = (c - r) - (log1p(-exp(c)) - log1p(-exp(r)));
  loss = -beta logsigmoid(log_odds) + NLL(chosen).
- sft_weight w adds w * NLL(chosen) to any of them.
- rewards: beta (policy - reference) over the same inputs the loss reads (beta * policy for the
  reference-free losses); accuracy: chosen reward > rejected reward.
- kto: r = beta (p - q) over sums; z0 = max(0, mean(p - q)) detached; desirable: wD (1 - sigmoid(r - beta z0)),
  undesirable: wU (1 - sigmoid(beta z0 - r)); loss = mean over examples.
Where Whetstone differs from TRL, on purpose, so that the loss is a sum over pairs that Spark partitions
can add up: NLL(chosen) is each pair's per-token mean, averaged over pairs (TRL's ORPO averages over all
chosen tokens of the batch; the two agree when the chosen completions have equal lengths); KTO's z0 is
estimated from the batch's own examples (TRL pairs each prompt with another example's completion).
All losses are means over pairs (or examples).
"""
import json
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(20261202)

P, T = 4, 6
B = 2 * P
mask = (torch.rand(B, T, generator=gen) < 0.75).double()
mask[:, 0] = 1.0
logp = -torch.rand(B, T, generator=gen) * 2.5 - 0.02
ref = logp + torch.randn(B, T, generator=gen) * 0.3
ref = torch.clamp(ref, max=-0.01)
labels = [True, False, True, True, False, False, True, False]


def pair_loss(case, lp):
    loss_type = case["loss"]
    beta = case["beta"]
    eps = case.get("label_smoothing", 0.0)
    gamma = case.get("simpo_gamma", 0.0)
    sft = case.get("sft_weight", 0.0)
    sums = (lp * mask).sum(dim=1)
    refs = (ref * mask).sum(dim=1)
    lengths = mask.sum(dim=1)
    chosen_nll = -(sums / lengths)[0::2]
    if loss_type in ("ipo", "simpo", "orpo"):
        sums = sums / lengths
        refs = refs / lengths
    c, r = sums[0::2], sums[1::2]
    rc, rr = refs[0::2], refs[1::2]
    if loss_type == "dpop":
        h = (c - r) - (rc - rr) - case["dpop_lambda"] * torch.clamp(rc - c, min=0)
        losses = -F.logsigmoid(beta * h)
        chosen_rewards, rejected_rewards = beta * (c - rc), beta * (r - rr)
    elif loss_type == "sigmoid":
        h = (c - r) - (rc - rr)
        losses = -F.logsigmoid(beta * h) * (1 - eps) - F.logsigmoid(-beta * h) * eps
        chosen_rewards, rejected_rewards = beta * (c - rc), beta * (r - rr)
    elif loss_type == "ipo":
        h = (c - r) - (rc - rr)
        losses = (h - 1 / (2 * beta)) ** 2
        chosen_rewards, rejected_rewards = beta * (c - rc), beta * (r - rr)
    elif loss_type == "simpo":
        z = beta * (c - r) - gamma
        losses = -F.logsigmoid(z) * (1 - eps) - F.logsigmoid(-z) * eps
        chosen_rewards, rejected_rewards = beta * c, beta * r
    elif loss_type == "orpo":
        log_odds = (c - r) - (torch.log1p(-torch.exp(c)) - torch.log1p(-torch.exp(r)))
        losses = -beta * F.logsigmoid(log_odds) + chosen_nll
        chosen_rewards, rejected_rewards = beta * c, beta * r
    losses = losses + sft * chosen_nll
    metrics = {
        "pairs": float(P),
        "reward_chosen_sum": chosen_rewards.sum().item(),
        "reward_rejected_sum": rejected_rewards.sum().item(),
        "reward_margin_sum": (chosen_rewards - rejected_rewards).sum().item(),
        "preference_correct": (chosen_rewards > rejected_rewards).double().sum().item(),
        "chosen_nll_sum": chosen_nll.sum().item(),
    }
    if loss_type in ("sigmoid", "ipo", "dpop"):
        raw = (lp * mask).sum(dim=1) - (ref * mask).sum(dim=1)
        per_token = raw / lengths
        metrics["chosen_logp_drift_sum"] = per_token[0::2].sum().item()
        metrics["rejected_logp_drift_sum"] = per_token[1::2].sum().item()
    return losses.mean(), metrics


def kto_loss(case, lp):
    beta, wd, wu = case["beta"], case["desirable_weight"], case["undesirable_weight"]
    p = (lp * mask).sum(dim=1)
    q = (ref * mask).sum(dim=1)
    z0 = (p - q).mean().clamp(min=0).detach()
    rewards = beta * (p - q)
    desirable = torch.tensor(labels)
    losses = torch.where(desirable, wd * (1 - torch.sigmoid(rewards - beta * z0)),
                         wu * (1 - torch.sigmoid(beta * z0 - rewards)))
    return losses.mean(), {"examples": float(B), "kl_estimate_sum": (z0 * B).item(),
                           "desirable": float(sum(labels))}


cases = [
    {"loss": "sigmoid", "beta": 0.1},
    {"loss": "sigmoid", "beta": 0.5, "label_smoothing": 0.1},
    {"loss": "sigmoid", "beta": 0.1, "sft_weight": 0.5},
    {"loss": "dpop", "beta": 0.1, "dpop_lambda": 5.0},
    {"loss": "ipo", "beta": 0.1},
    {"loss": "simpo", "beta": 2.0, "simpo_gamma": 0.5},
    {"loss": "simpo", "beta": 2.5, "simpo_gamma": 1.0, "label_smoothing": 0.1},
    {"loss": "orpo", "beta": 0.1},
    {"loss": "orpo", "beta": 0.25, "sft_weight": 0.3},
    {"loss": "kto", "beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.33},
    {"loss": "kto", "beta": 0.5, "desirable_weight": 0.7, "undesirable_weight": 1.0},
]
out_cases = []
for case in cases:
    lp = logp.clone().requires_grad_(True)
    loss, metrics = kto_loss(case, lp) if case["loss"] == "kto" else pair_loss(case, lp)
    loss.backward()
    out = dict(case)
    out["value"] = loss.item()
    out["grad"] = lp.grad.flatten().tolist()
    out["metrics"] = metrics
    out_cases.append(out)

golden = {
    "shape": [B, T],
    "mask": mask.flatten().tolist(),
    "logp": logp.flatten().tolist(),
    "ref": ref.flatten().tolist(),
    "labels": labels,
    "cases": out_cases,
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "preference.json"), "w") as f:
    json.dump(golden, f, indent=1)
print("wrote", len(out_cases), "cases")
