"""Loads a golden directory that Whetstone converted to bfloat16
(`whetstone convert --from hf-golden/qwen3 --to OUT/qwen3 --dtype bfloat16`) in transformers and prints how far
its logits (computed in float32 from the bfloat16 weights) are from the float32 golden logits.

  chroot /opt/sid python3 /src/check_bf16.py /src/golden/qwen3 /src/exported-bf16/qwen3
Measured 2026-12-02 with transformers 5.12.1: dtype torch.bfloat16, max abs logit error 0.0286.
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM


def main(golden_dir, exported_dir):
    golden = json.load(open(f"{golden_dir}/golden.json"))
    model = AutoModelForCausalLM.from_pretrained(exported_dir, attn_implementation="eager").eval()
    print("dtype", next(model.parameters()).dtype)
    model = model.float()
    with torch.no_grad():
        logits = model(torch.tensor(golden["sequences"])).logits
    print("max abs logit error vs the float32 golden", float((logits - torch.tensor(golden["logits"])).abs().max()))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
