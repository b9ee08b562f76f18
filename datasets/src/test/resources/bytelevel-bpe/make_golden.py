"""Golden values for ByteLevelBpeFilesTest, made with Hugging Face tokenizers and transformers (Debian sid's
python3-transformers 5.x, see shared/notes/hf-references.md):

1. trains a small byte-level BPE (tokenizers' ByteLevelBPETokenizer, GPT-2's algorithm) on the text below and saves
   it as transformers' slow-tokenizer files, vocab.json and merges.txt, into plain/ (nothing else: GPT2Tokenizer's
   defaults apply) and configured/ (with a tokenizer_config.json: add_prefix_space, a <pad> added token);
2. encodes the probe texts with transformers' slow GPT2Tokenizer (which reads those files) and its fast tokenizer
   (converted from them), checks the two agree, and writes the ids to golden.json.

Run: python3 make_golden.py <this directory>
"""
import json
import os
import sys

from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Tokenizer, GPT2TokenizerFast

out = sys.argv[1]
corpus = [
    "Whetstone turns a pretrained language model into a better one where the data already lives.",
    "What is 457 + 386? 7+6=13, write 3 carry 1. 5+8+1=14, write 4 carry 1. 4+3+1=8, write 8. #### 843",
    "The quick brown fox jumps over the lazy dog, then naps in the sun.",
    "Spark jobs shard corpora across partitions; the driver averages parameters.",
    "café naïve résumé — über straße, 東京 and 🙂 emoji",
] * 20
tokenizer = ByteLevelBPETokenizer()
tokenizer.train_from_iterator(corpus, vocab_size=420, min_frequency=2, special_tokens=["<|endoftext|>"])
for name in ("plain", "configured"):
    os.makedirs(os.path.join(out, name), exist_ok=True)
    tokenizer.save_model(os.path.join(out, name))
pad_id = tokenizer.get_vocab_size()
with open(os.path.join(out, "configured", "tokenizer_config.json"), "w") as f:
    json.dump({
        "tokenizer_class": "GPT2Tokenizer",
        "add_prefix_space": True,
        "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<pad>",
        "added_tokens_decoder": {
            "0": {"content": "<|endoftext|>", "special": True, "lstrip": False, "rstrip": False,
                  "normalized": True, "single_word": False},
            str(pad_id): {"content": "<pad>", "special": True, "lstrip": False, "rstrip": False,
                          "normalized": False, "single_word": False},
        },
    }, f, indent=2)

probes = [
    "What is 457 + 386?",
    " 7+6=13, write 3 carry 1.",
    "The lazy fox naps; the driver averages parameters.",
    "Hello  world\n\nnew   lines\tand tabs",
    "naïve café — 東京 🙂",
    "unseen words: zyxwvut, QUUX, 1234567890",
    "",
]
golden = {"probes": probes}
for name in ("plain", "configured"):
    directory = os.path.join(out, name)
    slow = GPT2Tokenizer.from_pretrained(directory)
    fast = GPT2TokenizerFast.from_pretrained(directory, from_slow=True)
    ids = []
    for text in probes:
        a = slow.encode(text, add_special_tokens=False)
        b = fast.encode(text, add_special_tokens=False)
        assert a == b, (name, text, a, b)
        if name == "plain":
            assert slow.decode(a) == text, (text, slow.decode(a))
        ids.append(a)
    golden[name] = {
        "ids": ids,
        "vocab_size": len(slow),
        "eos_id": slow.eos_token_id,
        "pad_id": slow.pad_token_id,
    }
with open(os.path.join(out, "golden.json"), "w") as f:
    json.dump(golden, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(json.dumps({k: golden[k]["ids"][:2] for k in ("plain", "configured")}))
