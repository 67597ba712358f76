#!/usr/bin/env python3
"""Counts the words in files (or standard input) and prints the most common ones."""

import argparse
import re
import sys
from collections import Counter
from typing import Iterable, List, Tuple

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def count_words(lines: Iterable[str]) -> Counter:
    """Counts words case-insensitively; numbers and punctuation are not words."""
    counts: Counter = Counter()
    for line in lines:
        counts.update(word.lower() for word in WORD.findall(line))
    return counts


def top_words(counts: Counter, n: int) -> List[Tuple[str, int]]:
    """The n most common words; ties in alphabetical order so the output is stable."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="*", help="text files to read (default: standard input)")
    parser.add_argument("-n", "--top", type=int, default=10, help="how many words to show (default: 10)")
    args = parser.parse_args(argv)
    if args.top < 1:
        parser.error("--top must be at least 1")
    return args


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    counts: Counter = Counter()
    if not args.files:
        counts = count_words(sys.stdin)
    for name in args.files:
        try:
            with open(name, encoding="utf-8", errors="replace") as f:
                counts += count_words(f)
        except OSError as e:
            print(f"{name}: {e.strerror}", file=sys.stderr)
            return 1
    if not counts:
        print("No words found.")
        return 0
    width = max(len(word) for word, _ in top_words(counts, args.top))
    for word, n in top_words(counts, args.top):
        print(f"{word.ljust(width)}  {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
