#!/usr/bin/env python3
"""Loads a Whetstone process reward model export in Hugging Face transformers and prints its step scores.

Run inside the Debian sid chroot of shared/notes/hf-references.md (transformers 5):
    python3 check_process_reward_model_hf.py <process_reward_model dir> <steps.jsonl> [n]
For the first n solutions of prm-data's steps.jsonl it builds BOS + prompt + steps with the exported
tokenizer, runs AutoModelForTokenClassification and prints the logit at every step's last token, as a JSON
line per solution ({"scores": [...]}) to compare with Whetstone's (ProcessRewardModel.scores). CI never runs
this; the README records what it printed.
"""
import json
import sys

import torch
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModelForTokenClassification

model_dir, steps_path = sys.argv[1:3]
limit = int(sys.argv[3]) if len(sys.argv) > 3 else 3
config = AutoConfig.from_pretrained(model_dir)
model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
tokenizer = Tokenizer.from_file(model_dir + "/tokenizer.json")
head = model.score if hasattr(model, "score") else model.classifier
print(type(model).__name__, "num_labels", config.num_labels, "head", tuple(head.weight.shape), file=sys.stderr)
for line in list(open(steps_path))[:limit]:
    record = json.loads(line)
    ids = [config.bos_token_id] + tokenizer.encode(record["prompt"], add_special_tokens=False).ids
    ends = []
    for step in record["steps"]:
        ids += tokenizer.encode(step, add_special_tokens=False).ids
        ends.append(len(ids) - 1)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, :, 0]
    print(json.dumps({"scores": [round(logits[e].item(), 6) for e in ends]}))
