"""Hand-run check that Whetstone's LoRA checkpoints load in PEFT and compute what Whetstone merged.

For each checkpoint directory given (a LoRA SFT run's round directory: adapter_config.json,
adapter_model.safetensors, and merged/), loads the adapter with PEFT onto the base its
adapter_config.json names (AutoPeftModelForCausalLM, as a user would) and compares the logits
with transformers' logits of Whetstone's merged/ export. Run with transformers 5.18.0 and
peft 0.21.0 (the local PyPI mirror; see datasets/src/test/resources/chat-templates/SOURCES.md):

    python check_peft.py /tmp/peft/run-qwen3/checkpoints/round-000004 ...

The runs checked on 2026-12-02: `submit/local sft` with lora.enabled=true, rank 4, 4 rounds, on the golden
qwen3 (all seven projections), phi3 (qkv_proj, o_proj, gate_up_proj, down_proj), gemma and llama
directories here, and on ../shared/assets/stories260K.gguf (whose base whetstone writes as a Hugging Face
directory beside the checkpoints). Max |PEFT - merged| logits: 2.2e-6, 1.5e-6, 1.7e-6, 7.8e-7 and 1.1e-5,
with the adapters moving the logits by 4.8 to 6.7.
"""
import sys

import torch
from peft import AutoPeftModelForCausalLM, PeftModel
from transformers import AutoModelForCausalLM

worst = 0.0
for adapter in sys.argv[1:]:
    peft_model = AutoPeftModelForCausalLM.from_pretrained(adapter, torch_dtype=torch.float32).eval()
    merged = AutoModelForCausalLM.from_pretrained(adapter + "/merged", torch_dtype=torch.float32).eval()
    ids = torch.tensor([[1, 10, 20, 21, 30, 31, 32, 40, 12, 33, 5, 7]])
    with torch.no_grad():
        with_adapter = peft_model(ids).logits
        exported = merged(ids).logits
        base = peft_model.get_base_model()
        with peft_model.disable_adapter():
            without = peft_model(ids).logits
    error = (with_adapter - exported).abs().max().item()
    moved = (with_adapter - without).abs().max().item()
    worst = max(worst, error)
    print(f"{adapter}: {type(base).__name__}, max |peft - merged| = {error:.2e}, adapter moves logits by {moved:.2e}")
    assert moved > 1e-3, "the adapter changes nothing: the comparison would prove nothing"
print(f"worst {worst:.2e}")
sys.exit(0 if worst < 1e-4 else 1)
