#!/usr/bin/env python3
"""Runs a benchmark several times and prints its output once, each number the
median over the runs (docs/PERFORMANCE.md quotes figures this way: the machines
are shared, and one run can be slowed by a neighbour).

    bench/median_runs.py RUNS COMMAND [ARG ...]

The runs must print the same lines with the same words, as bench_kernels does
(padding may differ); a line whose words differ between runs is an error. Numbers
keep their suffix ("x", "%") and their number of decimals.
"""
import re
import statistics
import subprocess
import sys

NUMBER = re.compile(r"(-?\d+(?:\.\d+)?)")


def split(line):
    """The line's text between numbers, and its numbers as strings."""
    parts = NUMBER.split(line)
    return parts[0::2], parts[1::2]


def median_line(lines):
    texts, numbers = zip(*(split(line) for line in lines))
    # Padding may differ with the width of the numbers; the words may not.
    words = [[" ".join(t.split()) for t in text] for text in texts]
    if any(w != words[0] for w in words):
        sys.exit("median_runs.py: the runs printed different lines:\n" + "\n".join(lines))
    out = [texts[0][0]]
    for i, text in enumerate(texts[0][1:]):
        values = [n[i] for n in numbers]
        decimals = len(values[0].split(".")[1]) if "." in values[0] else 0
        # Keep the column width of the first run, so tables stay aligned.
        cell = f"{statistics.median(float(v) for v in values):.{decimals}f}"
        out.append(cell.rjust(len(values[0])) + text)
    return "".join(out)


def main():
    if len(sys.argv) < 3 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
        sys.exit("usage: median_runs.py RUNS COMMAND [ARG ...]  (RUNS >= 1)")
    runs, command = int(sys.argv[1]), sys.argv[2:]
    outputs = []
    for r in range(runs):
        print(f"run {r + 1} of {runs}: {' '.join(command)}", file=sys.stderr, flush=True)
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
        if done.returncode != 0:
            sys.exit(f"median_runs.py: run {r + 1} exited with {done.returncode}")
        outputs.append(done.stdout.splitlines())
    if any(len(o) != len(outputs[0]) for o in outputs):
        sys.exit("median_runs.py: the runs printed different numbers of lines")
    print(f"(each number: the median of {runs} runs)")
    for lines in zip(*outputs):
        print(median_line(list(lines)))


if __name__ == "__main__":
    main()
