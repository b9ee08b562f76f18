"""Hand-run, broader than goldens.json: every chat template in a TRL wheel rendered by transformers, for
ModelChatTemplateGoldenTest.everyTrlTemplate (skipped unless -Dwhetstone.trl.templates=<dir> names the output).

    mkdir -p /tmp/alltpl/tpl && unzip -j trl-1.13.0-py3-none-any.whl 'trl/chat_templates/*.jinja' -d /tmp/alltpl/tpl
    cd /tmp/alltpl && python make_all_trl_goldens.py      # writes all.json beside tpl/
    mvn -o test -pl datasets -Dtest=ModelChatTemplateGoldenTest -Dwhetstone.trl.templates=/tmp/alltpl

On 2026-12-02 with TRL 1.13.0 and transformers 5.18.0: 63 templates, 378 renderings, all identical (after
whetstone learnt Jinja's newline normalisation, which GLM-4-MoE's CRLF template needed).
"""
import json, pathlib, sys
from transformers.utils.chat_template_utils import render_jinja_template
CONV = [
    [{"role": "user", "content": "What is 2+3?"}, {"role": "assistant", "content": "5"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+3?"},
     {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n5"},
     {"role": "user", "content": "  And 4+4? "}, {"role": "assistant", "content": " 8\n"}],
    [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}],
]
cases = []
for path in sorted(pathlib.Path("tpl").glob("*.jinja")):
    for m in CONV:
        for agp in (False, True):
            c = {"template": path.name, "messages": m, "agp": agp}
            try:
                r, spans = render_jinja_template(conversations=[m], chat_template=path.read_text(), add_generation_prompt=agp,
                    return_assistant_tokens_mask=True, bos_token="<BOS>", eos_token="<EOS>", date_string="26 Jul 2024")
                c["text"] = r[0]; c["spans"] = [list(s) for s in spans[0]]
            except Exception as e:
                c["error"] = f"{type(e).__name__}: {e}"
            cases.append(c)
json.dump(cases, open("all.json", "w"), ensure_ascii=False)
print(len(cases))
