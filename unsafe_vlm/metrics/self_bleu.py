"""Self-BLEU of a set of answers, and text quality = 1 - self-BLEU, in time linear in the answers.

Self-BLEU (PROTOCOL.md, "Text quality"): each answer's sentence BLEU with every other answer of the
set as its references, averaged over the set. Tokens are ``str.split()``'s; BLEU is the usual one of
NLTK's ``sentence_bleu``: 1- to 4-gram modified precisions, uniform weights 0.25, smoothing
"method 1" (a precision with no matches gets 0.1 in its numerator), and the brevity penalty of the
reference length closest to the answer's (the shorter on a tie). These values equal NLTK's to
floating-point rounding, down to its corner cases:

- a precision's denominator is the answer's n-gram count, at least 1 (an answer shorter than n has none);
- no 1-gram match at all (an empty answer, or words no other answer uses) scores 0, unsmoothed;
- the brevity penalty is 1 when the answer is longer than the chosen reference length, else
  ``exp(1 - ref / hyp)``.

Asking NLTK for every answer against all the others costs time in the square of the set's size
(690 answers: 690 calls over 689 references, about 475,000 reference scans). Here both parts of BLEU
that look at the references come from counts over the whole set, once:

- the clip of an n-gram is its largest count in any *other* answer. Per n-gram we keep the largest
  count in the set, how many answers have it, and the largest count below it: when the answer is the
  only one with the largest count, the others' largest is the one below; otherwise it is the largest.
- the closest reference length comes from the sorted list of all lengths, one occurrence of the
  answer's own length left out, by bisection.

A set of fewer than two answers has no references for its answers: its self-BLEU is undefined (None).
The mean is ``math.fsum``'s, so it is the same whatever the order of the answers.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence

MAX_ORDER = 4
WEIGHT = 1 / MAX_ORDER  # 0.25, as NLTK's default weights
EPSILON = 0.1  # smoothing method 1: added to the numerator of a precision with no matches

Ngram = tuple[str, ...]


def self_bleu(texts: Sequence[str]) -> float | None:
    """The mean of each text's sentence BLEU against all the other texts; None for fewer than two texts."""
    scores = sentence_bleus(texts)
    return math.fsum(scores) / len(scores) if len(scores) >= 2 else None


def text_quality(texts: Sequence[str]) -> float | None:
    """``1 - self_bleu(texts)``: near 0 for one template answered to everything, higher for diverse answers."""
    score = self_bleu(texts)
    return None if score is None else 1.0 - score


def sentence_bleus(texts: Sequence[str]) -> list[float]:
    """Each text's sentence BLEU with all the other texts as references (empty for fewer than two texts)."""
    if len(texts) < 2:
        return []
    tokens = [text.split() for text in texts]
    lengths = [len(words) for words in tokens]
    # matches[i][n - 1]: answer i's clipped n-gram matches against all the others
    matches = [[0] * MAX_ORDER for _ in tokens]
    for n in range(1, MAX_ORDER + 1):
        counts = [_ngram_counts(words, n) for words in tokens]
        for i, clipped in enumerate(_clipped_matches(counts)):
            matches[i][n - 1] = clipped
    ordered = sorted(lengths)
    return [_bleu(matches[i], length, _closest_other_length(ordered, length)) for i, length in enumerate(lengths)]


def _ngram_counts(words: Sequence[str], n: int) -> Counter[Ngram]:
    return Counter(zip(*(words[k:] for k in range(n)), strict=False))  # the shifted copies end together


def _clipped_matches(counts: Sequence[Counter[Ngram]]) -> list[int]:
    """Per answer, the sum over its n-grams of min(its count, the largest count in any other answer)."""
    top: dict[Ngram, int] = {}  # the largest count of the n-gram in any answer
    holders: dict[Ngram, int] = {}  # how many answers have that largest count
    below: dict[Ngram, int] = {}  # the largest count under ``top`` (0: no other answer has the n-gram)
    for counter in counts:
        for gram, count in counter.items():
            best = top.get(gram, 0)
            if count > best:
                below[gram] = best
                top[gram], holders[gram] = count, 1
            elif count == best:
                holders[gram] += 1
            elif count > below[gram]:
                below[gram] = count
    # count < top: another answer has more, so the count is kept whole; count == top shared: kept whole too;
    # count == top alone: clipped to the largest count of the others, which is ``below``.
    return [
        sum(below[gram] if count == top[gram] and holders[gram] == 1 else count for gram, count in counter.items())
        for counter in counts
    ]


def _closest_other_length(ordered: Sequence[int], length: int) -> int:
    """The length in ``ordered`` (sorted, holding ``length`` once for the answer itself) closest to
    ``length`` once that one occurrence is left out; the shorter of two equally close."""
    first, after = bisect_left(ordered, length), bisect_right(ordered, length)
    if after - first >= 2:  # another answer has the same length
        return length
    candidates = []
    if first > 0:
        candidates.append(ordered[first - 1])
    if after < len(ordered):
        candidates.append(ordered[after])
    return min(candidates, key=lambda other: (abs(other - length), other))


def _bleu(matches: Sequence[int], length: int, reference_length: int) -> float:
    """Sentence BLEU from the clipped match counts of orders 1-4, the answer's length and its reference length."""
    if matches[0] == 0:
        return 0.0
    log_precisions = []
    for n, matched in enumerate(matches, start=1):
        total = max(1, length - n + 1)
        precision = matched / total if matched else EPSILON / total
        log_precisions.append(WEIGHT * math.log(precision))
    penalty = 1.0 if length > reference_length else math.exp(1 - reference_length / length)
    return penalty * math.exp(math.fsum(log_precisions))
