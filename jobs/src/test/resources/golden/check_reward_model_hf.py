#!/usr/bin/env python3
"""Loads a Whetstone reward model export in Hugging Face transformers and compares its scores with Whetstone's.

Run inside the Debian sid chroot of ../../../../../../shared/notes/hf-references.md (transformers 5):
    python3 check_reward_model_hf.py <reward_model dir> <pairs.jsonl> <scores.jsonl>
where <scores.jsonl> is `whetstone eval-rm --model <dir> --data <pairs.jsonl> --out <scores.jsonl>`'s output.
For each pair it scores prompt + chosen and prompt + rejected with AutoModelForSequenceClassification (BOS
first, as Whetstone's model reward does) and prints both frameworks' rewards and the largest difference.
CI never runs this; the README records what it printed.
"""
import json
import sys

import torch
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModelForSequenceClassification

model_dir, pairs_path, scores_path = sys.argv[1:4]
config = AutoConfig.from_pretrained(model_dir)
model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
tokenizer = Tokenizer.from_file(model_dir + "/tokenizer.json")
print(type(model).__name__, "num_labels", config.num_labels, "score", tuple(model.score.weight.shape))
pairs = [json.loads(line) for line in open(pairs_path)]
scores = [json.loads(line) for line in open(scores_path)]
worst = 0.0
for pair, expected in zip(pairs, scores):
    for side in ("chosen", "rejected"):
        ids = [config.bos_token_id] + tokenizer.encode(pair["prompt"] + pair[side], add_special_tokens=False).ids
        with torch.no_grad():
            reward = model(torch.tensor([ids])).logits[0, 0].item()
        difference = abs(reward - expected[side])
        worst = max(worst, difference)
        print(f"{side:8s} transformers {reward:+.6f}  whetstone {expected[side]:+.6f}  diff {difference:.2e}")
print("largest difference", worst)
