#!/usr/bin/env python3
"""Rewrites half of a task-data train.jsonl's addition solutions with each column's addends swapped.

Used to test why self-consistency gains little on the built-in task (README, "Test-time scaling"): every
answer there has exactly one solution path, so a vote over samples adds no probability mass that greedy
decoding misses. Two styles for addition (a's digit first, or b's: "7+6=13" / "6+7=13") give an addition
answer two paths while subtraction keeps one, a control inside the same model.

Usage: bench/tts/two_styles.py IN_TRAIN_JSONL OUT_TRAIN_JSONL [--share 0.5] [--seed 11]
Then train with the demo's SFT settings on OUT and compare with bench/tts/by_operation.py.
"""
import argparse
import json
import random
import re

STEP = re.compile(r"(\d)\+(\d)(\+1)?=(.*)")
ADDITION = re.compile(r"What is (\d+) \+ (\d+)\?")


def swapped(solution):
    """'7+6=13, write 3 carry 1. 5+8+1=14, ...' -> '6+7=13, write 3 carry 1. 8+5+1=14, ...'."""
    body, answer = solution.split(" #### ")
    steps = []
    for step in body.split(". "):
        match = STEP.match(step)
        steps.append(f"{match.group(2)}+{match.group(1)}{match.group(3) or ''}={match.group(4)}" if match else step)
    return ". ".join(steps) + " #### " + answer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--share", type=float, default=0.5, help="share of addition problems rewritten")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    rewritten = 0
    with open(args.source) as source, open(args.target, "w") as target:
        for line in source:
            record = json.loads(line)
            if ADDITION.match(record["question"]) and rnd.random() < args.share:
                record["answer"] = swapped(record["answer"])
                rewritten += 1
            target.write(json.dumps(record) + "\n")
    print(f"{rewritten} addition solutions rewritten")


if __name__ == "__main__":
    main()
