#!/usr/bin/env python3
"""Accuracy of a tts run per strategy, budget and operation, and where greedy's wrong solutions first slip.

Usage: bench/tts/by_operation.py TTS_RUN_DIR HELDOUT_JSONL [EVAL_TASK_COMPLETIONS_JSONL]

TTS_RUN_DIR is a `whetstone tts` run directory (its table.jsonl); HELDOUT_JSONL the task-data held-out file it
read (the table's `index` is the line number); the optional completions file is `eval-task --output`'s
completions-1.jsonl for the same model and problems, whose wrong solutions are classified by their first wrong
step (a misread digit, a wrong carry, a wrong sum). Also prints, for the problems greedy gets wrong, how many of
16 samples are right and how many distinct answers the samples give.
"""
import collections
import json
import re
import sys

QUESTION = re.compile(r"What is (\d+) ([+-]) (\d+)")
ADD_STEP = re.compile(r"(\d+)\+(\d+)(?:\+(\d))?=(\d+), write (\d)")
SUB_STEP = re.compile(r"(\d+)-(\d+)=(\d+), write (\d)")


def first_slip(question, completion):
    """The first wrong step of a column-addition or -subtraction solution, as 'kind column'."""
    a, op, b = QUESTION.search(question).groups()
    digits_a, digits_b = a[::-1], b[::-1]
    carry = 0
    column = 0
    for step in completion.split("####")[0].strip().split(". "):
        step = step.strip().rstrip(".")
        if step.startswith("write"):
            continue
        match = (ADD_STEP if op == "+" else SUB_STEP).match(step)
        if not match:
            return "format"
        da = int(digits_a[column]) if column < len(digits_a) else 0
        db = int(digits_b[column]) if column < len(digits_b) else 0
        if op == "+":
            x, y, carried, total = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0), int(match.group(4))
            if sorted((x, y)) != sorted((da, db)):  # either order: two_styles.py writes b's digit first
                return f"misread digit, column {column}"
            if carried != carry:
                return f"wrong carry, column {column}"
            if total != da + db + carry:
                return f"wrong sum, column {column}"
            carry = total // 10
        else:
            top, y, difference = int(match.group(1)), int(match.group(2)), int(match.group(3))
            expected_top = da - carry + (10 if da - carry < db else 0)
            if y != db:
                return f"misread digit, column {column}"
            if top != expected_top:
                return f"misread digit or borrow, column {column}"
            if difference != expected_top - db:
                return f"wrong difference, column {column}"
            carry = 1 if da - carry < db else 0
        column += 1
    return "after the columns"


def main():
    run_dir, heldout = sys.argv[1], sys.argv[2]
    operation = {}
    references = {}
    for index, line in enumerate(open(heldout)):
        record = json.loads(line)
        operation[index] = "+" if " + " in record["question"] else "-"
        references[index] = record["answer"].split("####")[-1].strip()
    rows = [json.loads(line) for line in open(f"{run_dir}/table.jsonl")]
    accuracy = collections.defaultdict(lambda: [0, 0])
    for row in rows:
        for key in ("all", operation[row["index"]]):
            cell = accuracy[(row["strategy"], row["budget"], key)]
            cell[0] += row["correct"]
            cell[1] += 1
    print("strategy budget operation problems accuracy%")
    for key in sorted(accuracy):
        right, total = accuracy[key]
        print(*key, total, round(100 * right / total, 1))
    greedy = {row["index"]: row for row in rows if row["strategy"] == "greedy"}
    widest = max((row["budget"] for row in rows if row["strategy"] == "self_consistency"), default=None)
    if widest:
        voted = {row["index"]: row for row in rows if row["strategy"] == "self_consistency" and row["budget"] == widest}
        right_samples = collections.Counter()
        distinct = collections.Counter()
        for index, row in voted.items():
            if greedy[index]["correct"]:
                continue
            votes = row["votes"] if isinstance(row["votes"], dict) else json.loads(row["votes"])
            right_samples[round(votes.get(references[index], 0))] += 1
            distinct[len(votes)] += 1
        print(f"greedy wrong: right samples of {widest} -> problems", sorted(right_samples.items()))
        print(f"greedy wrong: distinct answers of {widest} samples -> problems", sorted(distinct.items()))
    if len(sys.argv) > 3:
        slips = collections.Counter()
        for line in open(sys.argv[3]):
            record = json.loads(line)
            if not record["correct"]:
                op = QUESTION.search(record["question"]).group(2)
                slips[(op, first_slip(record["question"], record["completion"]))] += 1
        print("greedy's first wrong step (operation, kind): solutions")
        for (op, kind), count in slips.most_common():
            print(f"  {op} {kind}: {count}")


if __name__ == "__main__":
    main()
