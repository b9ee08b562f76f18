"""Golden renderings of small Jinja snippets by transformers' chat-template environment, for JinjaTemplateTest.

Run with transformers 5.18.0:  python make_jinja_goldens.py > jinja_goldens.json
Each snippet exercises one piece of Python or Jinja semantics a chat template may rely on.
"""
import json
import sys

from transformers.utils.chat_template_utils import _compile_jinja_template

CONTEXT = {"xs": [3, 1, 2], "s": "  Hello, World \n", "m": {"role": "user", "content": "hi", "n": 2},
           "msgs": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
                    {"role": "assistant", "content": "A"}],
           "f": 2.5, "big": 1e20, "small": 0.0001, "u": "ünï 😀", "none": None, "t": True}

SNIPPETS = [
    "{{ xs[::-1] }}|{{ xs[1:] }}|{{ xs[-1] }}|{{ xs[:-1] }}|{{ 'abcdef'[1:5:2] }}|{{ 'abc'[::-1] }}",
    "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.strip(' \\nH') }}|{{ 'a--b'.strip('-a') }}",
    "{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'x</think>y'.split('</think>')[-1] }}",
    "{{ m | tojson }}|{{ xs | tojson(indent=2) }}|{{ {'a': [1, {'b': none}], 'c': u} | tojson }}|{{ f | tojson }}",
    "{{ {'z': 1, 'a': 2} | tojson(sort_keys=true) }}|{{ 'q\"\\\\\\n' | tojson }}|{{ [] | tojson }}|{{ {} | tojson(indent=4) }}",
    "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }};{% endfor %}",
    "{% set ns = namespace(total=0, seen=[]) %}{% for x in xs %}{% set ns.total = ns.total + x %}{% set y = x %}{% endfor %}{{ ns.total }}{{ y is defined }}",
    "{% set y = 1 %}{% for x in xs %}{% set y = x %}{% endfor %}{{ y }}|{% if true %}{% set z = 5 %}{% endif %}{{ z }}",
    "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }}{{ greet('B', punct='?') }}",
    "{{ msgs | map(attribute='role') | join(', ') }}|{{ msgs | selectattr('role', 'equalto', 'user') | list | length }}|{{ msgs | rejectattr('role', 'equalto', 'system') | map(attribute='content') | join }}",
    "{{ missing | default('d') }}|{{ '' | default('e', true) }}|{{ m | length }}|{{ m | items | list }}|{{ 'a-b-a' | replace('a', 'x') }}",
    "{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}|{{ 'Ab' | upper }}{{ 'Ab' | lower }}|{{ '  t  ' | trim }}|{{ xs | first }}{{ xs | last }}",
    "{{ none is none }}{{ m is mapping }}{{ xs is iterable }}{{ s is string }}{{ 3 is number }}{{ missing is defined }}{{ t is true }}{{ 3 is odd }}{{ 4 is divisibleby(2) }}{{ 'x' is not string }}",
    "{{ 1 < 2 < 3 }}{{ 3 > 2 > 2 }}{{ 'a' in 'cat' }}{{ 2 in xs }}{{ 'role' in m }}{{ 'q' not in m }}{{ 2 == 2.0 }}{{ xs == [3, 1, 2] }}",
    "{{ 7 // 2 }}|{{ 7 / 2 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 1 + 2.5 }}|{{ 10 - 3 * 2 }}|{{ 'ab' * 2 }}|{{ 'n=%s, %d' % ('x', 3) }}",
    "{{ none }}|{{ t }}|{{ xs }}|{{ m }}|{{ f }}|{{ big }}|{{ small }}|{{ missing }}|{{ 'x' ~ 1 ~ none }}",
    "a\n  {%- if true -%}\n  b  \n{%- endif %}\nc {#- comment -#} d\n    {% if true %}\n    e\n    {% endif %}\n  {%+ if true %}f{% endif %}",
    "{% for x in xs %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}|{% for x in [] %}no{% else %}empty{% endfor %}",
    "{% for x in xs if x > 1 %}{{ x }}{{ loop.index }}{% endfor %}|{% for k, v in m.items() %}{{ k }}={{ v }};{% endfor %}|{{ m.get('role') }}{{ m.get('zz', 'dflt') }}",
    "{{ 'yes' if t else 'no' }}|{{ 'yes' if not t }}|{{ (1, 2) }}|{{ [1, 2][0] }}|{{ {'k': 'v'}['k'] }}|{{ m['content'] }}{{ m.content }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set block %}inner {{ a }}{% endset %}{{ block }}|{{ range(3) | list }}{{ range(1, 7, 2) | list }}",
    "{{ u | length }}|{{ u[0] }}|{{ 'Hello'.startswith('He') }}{{ 'Hello'.endswith(('x', 'lo')) }}|{{ '-'.join(['a', 'b']) }}|{{ 'aXbX'.replace('X', '') }}",
    "{% for x in xs %}{{ loop.cycle('odd', 'even') }}{{ loop.previtem | default('-') }}{{ loop.nextitem | default('-') }} {% endfor %}",
    "{{ xs | sort if false else xs | min }}{{ xs | max }}{{ xs | sum }}|{{ [1, 1, 2] | unique | list }}|{{ 3.14159 | round(2) }}|{{ '12' | int + 1 }}|{{ 'x' | float }}",
    "  {% if true %}\n    indented\n  {% endif %}\n{{- '  out  ' -}}\n  tail",
    "a\r\n{% if true %}\r\n  b\r\n{% endif %}\r\nc\r\n    {% for x in xs %}{{ x }}{% endfor %}\rd",
    "ends with a newline {{ 1 }}\n",
    "{{ 2.5 | round }}|{{ -2.5 | round }}|{{ 3.5 | round }}|{{ 2.675 | round(2) }}|{{ -1.25 | round(1) }}",
]


def main():
    cases = []
    for source in SNIPPETS:
        try:
            text = _compile_jinja_template(source).render(**CONTEXT)
            cases.append({"template": source, "text": text})
        except Exception as error:
            cases.append({"template": source, "error": f"{type(error).__name__}: {error}"})
    json.dump({"context": CONTEXT, "cases": cases}, sys.stdout, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
