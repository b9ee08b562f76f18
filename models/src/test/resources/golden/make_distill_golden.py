"""Golden values for whetstone's distillation divergences (models/distill), computed with PyTorch autograd.

Run:  /usr/bin/python3 make_distill_golden.py > distill.json   (Debian's python3-torch 1.13)

Per position: student and teacher logits over a vocabulary of 11, the divergence J and dJ/d(student
logits). Forward KL = KL(p_t || p_s), reverse KL = KL(p_s || p_t), JSD(beta) = beta KL(p_t || m) +
(1 - beta) KL(p_s || m), m = beta p_t + (1 - beta) p_s (TRL's GKD generalized_jsd_loss), both
distributions softmax(logits / T). Top-k: the teacher's 3 largest log-probs at T (rounded to float32, as
stored), the distributions coarsened to those 3 tokens plus one bucket for the rest, the teacher's rest
mass max(1 - top-k mass, 1e-12), renormalised.
"""
import json

import torch

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)
N, V, K = 5, 11, 3


def divergence(kind, beta, log_s, log_t):
    p_s, p_t = log_s.exp(), log_t.exp()
    if kind == "forward_kl":
        return (p_t * (log_t - log_s)).sum(-1)
    if kind == "reverse_kl":
        return (p_s * (log_s - log_t)).sum(-1)
    log_m = torch.logsumexp(torch.stack([log_s + torch.log(torch.tensor(1 - beta)),
                                         log_t + torch.log(torch.tensor(beta))]), dim=0)
    return beta * (p_t * (log_t - log_m)).sum(-1) + (1 - beta) * (p_s * (log_s - log_m)).sum(-1)


cases = []
for kind, beta in [("forward_kl", 0.0), ("reverse_kl", 0.0), ("jsd", 0.3), ("jsd", 0.7)]:
    for temperature in [1.0, 2.0]:
        student = torch.randn(N, V) * 2
        teacher = torch.randn(N, V) * 2

        s = student.clone().requires_grad_(True)
        full = divergence(kind, beta, torch.log_softmax(s / temperature, -1), torch.log_softmax(teacher / temperature, -1))
        full.sum().backward()
        full_grad = s.grad.clone()

        teacher_log = torch.log_softmax(teacher / temperature, -1)
        top_lp, top_ids = teacher_log.topk(K, dim=-1)
        top_lp = top_lp.float().double()  # stored as float32
        s = student.clone().requires_grad_(True)
        log_s = torch.log_softmax(s / temperature, -1)
        losses = []
        for i in range(N):
            ids = top_ids[i]
            rest_mask = torch.ones(V, dtype=torch.bool)
            rest_mask[ids] = False
            ls = torch.cat([log_s[i, ids], torch.logsumexp(log_s[i, rest_mask], 0).reshape(1)])
            pt = top_lp[i].exp()
            rest = torch.clamp(1 - pt.sum(), min=1e-12)
            norm = pt.sum() + rest
            lt = torch.cat([top_lp[i] - norm.log(), (rest / norm).log().reshape(1)])
            losses.append(divergence(kind, beta, ls, lt))
        top = torch.stack(losses)
        top.sum().backward()
        cases.append({
            "divergence": kind, "beta": beta, "temperature": temperature,
            "student": student.tolist(), "teacher": teacher.tolist(),
            "full_loss": full.tolist(), "full_grad": full_grad.tolist(),
            "topk_ids": top_ids.tolist(), "topk_logprobs": top_lp.tolist(),
            "topk_loss": top.tolist(), "topk_grad": s.grad.tolist(),
        })

print(json.dumps({"torch": torch.__version__, "cases": cases}))
