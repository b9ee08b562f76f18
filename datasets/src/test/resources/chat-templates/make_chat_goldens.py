"""Golden renderings of real chat templates by transformers itself, for ChatTemplateGoldenTest.

Run with transformers 5.18.0 (the local PyPI mirror on these machines; see SOURCES.md):
    python make_chat_goldens.py > goldens.json
Each case is one template, one conversation and one add_generation_prompt setting, rendered by
transformers' render_jinja_template (what tokenizer.apply_chat_template calls, with the tokenizer's
special tokens passed as bos_token/eos_token), with the generation-block character spans it reports,
or the error a template raises.
"""
import json
import pathlib
import sys

import transformers
from transformers.utils.chat_template_utils import render_jinja_template

SPECIAL = {
    "qwen2_5": (None, "<|im_end|>"), "qwen2_5_training": (None, "<|im_end|>"), "qwen3": (None, "<|im_end|>"),
    "llama3": ("<|begin_of_text|>", "<|eot_id|>"), "llama3_1": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama3_2": ("<|begin_of_text|>", "<|eot_id|>"), "phi3": ("<s>", "<|endoftext|>"),
    "gemma": ("<bos>", "<eos>"), "gemma_training": ("<bos>", "<eos>"), "gemma3": ("<bos>", "<eos>"),
    "deepseek_r1_distill": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "smollm2": ("<|im_start|>", "<|im_end|>"), "mistral_v0_1": ("<s>", "</s>"),
}

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2+3?"}, {"role": "assistant", "content": "5"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+3?"},
     {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n5"},
     {"role": "user", "content": "  And 4+4? "}, {"role": "assistant", "content": " 8\n"}],
    [{"role": "user", "content": "Hi {{ not a tag }} {% if %} 'quoted' \"double\" \\ ünïcödé 😀\n\ttab"}],
    [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
    [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"},
     {"role": "assistant", "content": "d"}],
    [{"role": "assistant", "content": "I start."}],
]


def case(name, template, messages, generation_prompt, kwargs):
    bos, eos = SPECIAL[name]
    special = {k: v for k, v in (("bos_token", bos), ("eos_token", eos)) if v is not None}
    result = {"template": name, "special": special, "messages": messages,
              "add_generation_prompt": generation_prompt, "kwargs": kwargs}
    try:
        rendered, spans = render_jinja_template(
            conversations=[messages], chat_template=template, add_generation_prompt=generation_prompt,
            return_assistant_tokens_mask=True, **special, **kwargs)
        result["text"] = rendered[0]
        result["generation"] = [list(span) for span in spans[0]]
    except Exception as error:  # the template refused the conversation
        result["error"] = str(error)
    return result


def main():
    cases = []
    for path in sorted(pathlib.Path(__file__).parent.glob("*.jinja")):
        name = path.stem
        template = path.read_text()
        for messages in CONVERSATIONS:
            for generation_prompt in (False, True):
                kwargs = {"date_string": "26 Jul 2024"} if name.startswith("llama3_") else {}
                cases.append(case(name, template, messages, generation_prompt, kwargs))
        if name == "qwen3":
            cases.append(case(name, template, CONVERSATIONS[0][:1], True, {"enable_thinking": False}))
    json.dump({"transformers": transformers.__version__, "cases": cases}, sys.stdout, indent=1,
              ensure_ascii=False)


if __name__ == "__main__":
    main()
