"""A tiny byte-level BPE tokenizer with Qwen's chat special tokens, and transformers' token ids for chats
rendered with the Qwen2.5 template, for ModelChatTemplateTokensTest.

Run with transformers 5.18.0 and tokenizers 0.23:  python make_token_goldens.py
Writes bpe-chat/tokenizer.json, bpe-chat/tokenizer_config.json (chat_template = qwen2_5.jinja) and
token_goldens.json: per conversation, apply_chat_template(tokenize=True) ids, and the ids of each
assistant turn's generation (the turn rendered after its generation prompt), from HF's own tokenizer.
"""
import json
import pathlib

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

HERE = pathlib.Path(__file__).parent
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = ["What is 2+3? The answer is 5.", "And 4+4? It is 8.", "You are a helpful assistant.",
          "system user assistant", "Hello, how are you today? I am fine, thanks!", "<think> reasoning </think>"] * 20

tokenizer = Tokenizer(models.BPE())
tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tokenizer.decoder = decoders.ByteLevel()
tokenizer.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL,
                                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
out = HERE / "bpe-chat"
out.mkdir(exist_ok=True)
tokenizer.save(str(out / "tokenizer.json"))
template = (HERE / "qwen2_5.jinja").read_text()
(out / "tokenizer_config.json").write_text(json.dumps(
    {"tokenizer_class": "Qwen2TokenizerFast", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
     "bos_token": None, "chat_template": template}, indent=1))

hf = PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json"), eos_token="<|im_end|>",
                             pad_token="<|endoftext|>")
hf.chat_template = template
conversations = [
    [{"role": "user", "content": "What is 2+3?"}, {"role": "assistant", "content": "The answer is 5."}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+3?"},
     {"role": "assistant", "content": "5"}, {"role": "user", "content": " And 4+4? "},
     {"role": "assistant", "content": " It is 8.\n"}],
]
cases = []
for messages in conversations:
    ids = hf.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    turns = []
    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            prompt = hf.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)
            through = hf.apply_chat_template(messages[:i + 1], tokenize=False)
            turns.append(hf(through[len(prompt):], add_special_tokens=False)["input_ids"])
    cases.append({"messages": messages, "ids": ids, "assistant_ids": turns})
(HERE / "token_goldens.json").write_text(json.dumps(cases, indent=1))
