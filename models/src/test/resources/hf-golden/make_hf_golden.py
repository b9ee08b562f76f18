"""Golden values for HfArchitecturesTest, from Hugging Face transformers itself.

For each architecture: a tiny random-init model (initializer_range raised so logits are sharp, every bias
and norm weight perturbed so they matter), saved with save_pretrained (config.json, model.safetensors), and
golden.json with the logits of two sequences and the greedy continuations of two prompts.

Run in the Debian sid chroot (../shared/notes/hf-references.md):
  cp make_hf_golden.py /opt/sid/src/ && mount -t proc proc /opt/sid/proc
  chroot /opt/sid python3 /src/make_hf_golden.py /src/out && umount /opt/sid/proc
then copy /opt/sid/src/out/* here. Produced with transformers 5.12.1, torch 2.14.1 (Debian sid).
"""
import json
import os
import sys

import torch
import transformers
from transformers import (GemmaConfig, LlamaConfig, MistralConfig, Phi3Config, Qwen2Config, Qwen3Config,
                          AutoModelForCausalLM)

VOCAB = 97
COMMON = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
              initializer_range=0.15, rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2, pad_token_id=0)

CASES = {
    # untied, q/k/v/o biases, Llama 3.1 rope scaling (all three frequency bands with head size 8)
    "llama": LlamaConfig(**COMMON, attention_bias=True, tie_word_embeddings=False, rope_theta=10000.0,
                         rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                           high_freq_factor=4.0, original_max_position_embeddings=16)),
    # tied (SmolLM2, Llama 3.2), head_dim independent of the width, linear rope scaling
    "llama-tied": LlamaConfig(**COMMON, head_dim=12, tie_word_embeddings=True, rope_theta=500.0,
                              rope_scaling=dict(rope_type="linear", factor=2.0)),
    "qwen2": Qwen2Config(**COMMON, tie_word_embeddings=True, rope_theta=1000000.0),
    "qwen3": Qwen3Config(**COMMON, head_dim=16, tie_word_embeddings=False, rope_theta=1000000.0),
    # a window longer than the golden sequences (12) but shorter than max_position_embeddings
    "mistral": MistralConfig(**COMMON, sliding_window=16, tie_word_embeddings=False),
    "phi3": Phi3Config(**{**COMMON, "rms_norm_eps": 1e-5}, tie_word_embeddings=False),
    "gemma": GemmaConfig(**COMMON, head_dim=16, hidden_activation="gelu_pytorch_tanh"),
}


def save_tokenizer(directory):
    """A word-level tokenizer over the 97 ids (w3 ... w96 and three specials), BOS added, so a directory is
    complete for Whetstone's loaders and `convert`."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, **{f"w{i}": i for i in range(3, VOCAB)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>",
                            pad_token="<pad>").save_pretrained(directory)


def perturb(model, generator):
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith(".bias") or "norm" in name:
                parameter.add_(0.2 * torch.randn(parameter.shape, generator=generator))


def main(out):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    sequences = torch.randint(3, VOCAB, (2, 12), generator=generator)
    prompts = torch.randint(3, VOCAB, (2, 5), generator=generator)
    for name, config in CASES.items():
        config._attn_implementation = "eager"
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
        perturb(model, generator)
        directory = os.path.join(out, name)
        model.save_pretrained(directory, safe_serialization=True)
        save_tokenizer(directory)
        with torch.no_grad():
            logits = model(sequences).logits
            continuations = []
            for prompt in prompts:
                generated = model.generate(prompt[None, :], max_new_tokens=8, do_sample=False, min_new_tokens=8,
                                           eos_token_id=None, pad_token_id=0)
                continuations.append(generated[0, prompt.shape[0]:].tolist())
        with open(os.path.join(directory, "golden.json"), "w") as f:
            json.dump({"transformers": transformers.__version__, "torch": torch.__version__,
                       "sequences": sequences.tolist(), "logits": logits.tolist(),
                       "prompts": prompts.tolist(), "greedy": continuations}, f)
        print(name, "max |logit|", float(logits.abs().max()), continuations)


if __name__ == "__main__":
    main(sys.argv[1])
