"""Loads directories Whetstone exported (`whetstone convert --from hf-golden/NAME --to OUT/NAME`) in Hugging Face
transformers and compares their logits on the golden sequences with golden.json: an exported directory must keep
its model_type and be the same model for transformers.

  chroot /opt/sid python3 /src/check_exported.py /src/golden /src/exported
"""
import json
import os
import sys

import torch
from transformers import AutoConfig, AutoModelForCausalLM


def main(golden_root, exported_root):
    failures = 0
    for name in sorted(os.listdir(exported_root)):
        golden = json.load(open(os.path.join(golden_root, name, "golden.json")))
        original_type = json.load(open(os.path.join(golden_root, name, "config.json")))["model_type"]
        directory = os.path.join(exported_root, name)
        config = AutoConfig.from_pretrained(directory)
        model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager").eval()
        with torch.no_grad():
            logits = model(torch.tensor(golden["sequences"])).logits
        expected = torch.tensor(golden["logits"])
        error = float(((logits - expected).abs() / expected.abs().clamp(min=1.0)).max())
        ok = config.model_type == original_type and error < 1e-4
        failures += not ok
        print(f"{name}: model_type {config.model_type} (was {original_type}), {type(model).__name__}, "
              f"max relative logit error {error:.2e} {'ok' if ok else 'FAIL'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
