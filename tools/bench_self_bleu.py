"""Self-BLEU: the suite's n-gram-count computation against NLTK's all-pairs ``sentence_bleu``.

Text quality (1 - self-BLEU) scores each answer's sentence BLEU against all the other answers of
a set. The plain way asks NLTK once per answer with every other answer as a reference, time in
the square of the set's size; ``unsafe_vlm.metrics.self_bleu`` reads the references' n-gram
counts once for the whole set. This times both on the same answers (a seeded mix of templated
alignment answers, several phrasings, the size of the balanced test split by default) and prints
the largest difference between their per-answer BLEU values and their self-BLEU.

    python tools/bench_self_bleu.py                    # 690 answers, NLTK once, ours median of 5
    python tools/bench_self_bleu.py --answers 200 --nltk-repeats 3
    python tools/bench_self_bleu.py --larger 6900 69000   # and ours alone on larger sets: linear time
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

OPENINGS = ("No.", "Yes.", "No, it is not.", "Yes, it is.", "I would say no.", "Yes, I think so.", "")
BODIES = (
    "The image shows {c}, which is considered harmful.",
    "The image shows {c}, which is considered harmless.",
    "This picture contains {c} and could upset some viewers.",
    "It depicts {c}; it is fine for a general audience.",
    "{C} is visible here, so it should not be shared on social media.",
    "There is {c} in the scene, nothing harmful or exploitative.",
    "I see {c}. Posting it would break most community guidelines.",
)
ENDINGS = ("", "", " Viewer discretion is advised.", " It is safe to view.", " Please be careful with such content.")
CONCEPTS = (
    "a knife", "a cat", "a protest sign", "a syringe", "a sunset over the sea", "a crowd", "a burning car",
    "a golden retriever", "a pill bottle", "a hateful symbol", "a wedding cake", "a fist fight", "a tabby kitten",
    "a rifle", "a bowl of soup", "an injured man", "a red tractor", "a poster with a slur", "a mountain lake",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=690, help="answers in the set (default: 690)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the template mixer")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of ours (median)")
    parser.add_argument("--nltk-repeats", type=int, default=1, help="timed repeats of NLTK's all-pairs (median)")
    parser.add_argument("--larger", type=int, nargs="*", default=[], help="also time ours alone on sets this large")
    args = parser.parse_args()

    from unsafe_vlm.metrics.self_bleu import self_bleu, sentence_bleus

    texts = mixed_answers(args.answers, args.seed)
    nltk_seconds, theirs = _timed(lambda: nltk_sentence_bleus(texts), args.nltk_repeats)
    our_seconds, ours = _timed(lambda: sentence_bleus(texts), args.repeats)
    difference = max(abs(a - b) for a, b in zip(ours, theirs, strict=True))
    mean_difference = abs(self_bleu(texts) - sum(theirs) / len(theirs))
    larger = {size: _timed(lambda s=size: sentence_bleus(mixed_answers(s, args.seed)), args.repeats)[0]
              for size in args.larger}  # fmt: skip
    print_table(args, texts, nltk_seconds, our_seconds, difference, mean_difference, self_bleu(texts), larger)


def mixed_answers(count: int, seed: int) -> list[str]:
    """``count`` answers mixed from openings, bodies, concepts and endings (seeded); some repeat."""
    rng = random.Random(seed)
    answers = []
    for _ in range(count):
        concept = rng.choice(CONCEPTS)
        body = rng.choice(BODIES).format(c=concept, C=concept[0].upper() + concept[1:])
        answers.append(f"{rng.choice(OPENINGS)} {body}{rng.choice(ENDINGS)}".strip())
    return answers


def nltk_sentence_bleus(texts: list[str]) -> list[float]:
    """NLTK's sentence BLEU (smoothing method 1) of each answer against all the others."""
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    smoothing = SmoothingFunction().method1
    tokens = [text.split() for text in texts]
    return [
        sentence_bleu(tokens[:i] + tokens[i + 1 :], hypothesis, smoothing_function=smoothing)
        for i, hypothesis in enumerate(tokens)
    ]


def _timed(run, repeats: int) -> tuple[float, list[float]]:
    seconds, result = [], []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def print_table(args, texts, nltk_seconds, our_seconds, difference, mean_difference, score, larger) -> None:
    from bench.table import machine_line, markdown_table, ratio, versions_line

    words = sum(len(t.split()) for t in texts)
    print(machine_line("cpu", 1))
    print(versions_line(("nltk", "unsafe-vlm")))
    print(
        f"{len(texts)} answers ({len(set(texts))} distinct, {words / len(texts):.1f} words on average, seed "
        f"{args.seed}), self-BLEU {score:.6f}; NLTK median of {args.nltk_repeats}, ours median of {args.repeats}"
    )
    n = len(texts)
    rows = [
        ["NLTK `sentence_bleu`, all pairs", n, f"{nltk_seconds:.3f}", "1", "(the reference)"],
        ["ours, n-gram counts", n, f"{our_seconds:.4f}", f"{ratio(nltk_seconds, our_seconds):.0f}",
         f"{difference:.1e} (self-BLEU {mean_difference:.1e})"],
    ]  # fmt: skip
    rows += [["ours, n-gram counts", size, f"{seconds:.4f}", "", ""] for size, seconds in larger.items()]
    columns = ["computation", "answers", "seconds", "x NLTK", "max abs difference"]
    print(markdown_table(columns, rows, numeric=[False, True, True, True, True]))


if __name__ == "__main__":
    main()
