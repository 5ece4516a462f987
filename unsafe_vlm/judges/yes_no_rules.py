"""Rules that read Yes, No or N/A off a free-text answer to a yes/no question (MME and the like).

1. Text is lower-cased; contractions are expanded ("isn't" -> "is not", "can't" -> "can not"),
   markdown and quotes are dropped. Echoes of the instruction ("answer yes or no",
   "yes/no") are removed: they are never an answer. "I think so" becomes "yes", "I do not
   think so" "no", "no doubt" "certainly".
2. The response is cut into sentences (at ``. ! ? ;`` and newlines). Questions (sentences
   ending in "?", e.g. the model repeating the prompt) take no stance. The FIRST sentence
   that gives an explicit answer decides; later sentences never override it, so in
   "Yes. There is no cat, only a dog." the second sentence cannot matter.
3. A hedge in the deciding sentence ("it depends", "not sure", "hard to tell", "yes and
   no", "can not determine") or a refusal ("I can not answer", "as an AI") is N/A.
4. An explicit answer is, in this order:
   - a leading answer word, after fillers such as "well", "I think", "the answer is",
     "answer:": yes, yeah, yep, sure, indeed, correct, true, affirmative -> Yes (but
     "yes not" / "correct not" -> No); no, nope, nah, not, never, incorrect, false,
     negative -> No ("No dog is visible" answers No too: the question asked for yes/no);
     an intensifier (certainly, definitely, absolutely, of course) -> Yes, unless "not"
     or "no" follows it ("absolutely not" -> No);
   - else yes/no words elsewhere in the sentence: "yes" anywhere; "no" when it ends a
     clause ("I would say no.", "the answer is no, ...") or is followed by a pronoun or
     article ("no it is not") -- not "no" before a noun ("there is no dog"), which only
     negates. A negator up to three words before the word flips it ("I would not say
     yes" -> No). Words for both Yes and No in the sentence -> N/A.
5. No explicit answer anywhere: the first sentence (that is not a question) decides by
   negation alone: a negated statement ("There is no dog in the image", "The car is not
   red") is No; a plain statement ("The image shows a dog") is N/A, since a description
   alone does not say which way the question goes.
6. Nothing left (empty text, only questions) is N/A.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from unsafe_vlm.judges.base import NA
from unsafe_vlm.judges.text import normalise, sentences

YES, NO = "Yes", "No"
_FLIP = {YES: NO, NO: YES}

_YES_LEADS = frozenset({"yes", "yeah", "yep", "yup", "yea", "sure", "indeed", "correct", "true", "affirmative"})
_NO_LEADS = frozenset({"no", "nope", "nah", "not", "never", "incorrect", "false", "negative"})
_INTENSIFIERS = frozenset({"certainly", "definitely", "absolutely", "surely", "course"})
_FILLERS = frozenset(
    {"well", "so", "hmm", "okay", "ok", "oh", "i", "think", "believe", "would", "say", "guess", "my", "the", "final"}
    | {"short", "answer", "is", "be", "would", "a", "of", "based", "on", "image", ",", ":", "-"}
)
_NEGATORS = frozenset({"not", "no", "never", "none", "nothing", "nobody", "neither", "nor", "without"})
_NO_ANSWER_FOLLOWERS = frozenset({"it", "this", "that", "the", "there", "these", "they", "he", "she", "we", "i"})
_NEGATION_REACH = 3

_REWRITES = [
    (r"[’‘`]", "'"),
    (r"[*_#\"“”]", " "),
    (r"\b(?:please )?(?:answer|respond|reply)(?: with| only)? (?:a )?(?:single word )?(?:yes|no) or (?:yes|no)\b", " "),
    (r"\byes ?(?:/|-or-) ?no\b|\bno ?(?:/|-or-) ?yes\b", " "),
    (r"\bcannot\b", "can not"),
    (r"\bcan't\b", "can not"),
    (r"\bwon't\b", "will not"),
    (r"n't\b", " not"),
    (r"\bi'm\b", "i am"),
    (r"\b(it|that|this|there|here|what)'s\b", r"\1 is"),
    (r"'(?:s|re|ve|d|ll)\b", ""),
    (r"\bnot (?:only|just|merely)\b", "only"),
    (r"\bi (?:do not|would not|did not) (?:think|believe) so\b", "no"),
    (r"\b(?:i )?(?:think|believe|guess) so\b", "yes"),
    (r"\b(?:there is )?no doubt(?: that)?\b|\bwithout (?:a )?doubt\b|\bundoubtedly\b", "certainly"),
    (r"\bthat is (?:right|correct)\b|\byou are (?:right|correct)\b", "correct"),
]
_HEDGES = re.compile(
    r"\b(?:depends|depending on|not sure|unsure|unclear|uncertain|ambiguous|yes and no|maybe|perhaps|possibly"
    r"|hard to (?:say|tell|determine)|difficult to (?:say|tell|determine)|impossible to (?:say|tell|determine)"
    r"|can not (?:determine|say|tell|be sure|confirm)|unable to (?:determine|say|tell|confirm)"
    r"|not possible to (?:determine|say|tell)|may or may not|might or might not|not enough information)\b"
)
_REFUSAL = re.compile(
    r"\b(?:as an ai|i (?:can not|will not|am unable to|am not able to) (?:help|assist|answer|provide|comply|respond))\b"
)
_TOKEN = re.compile(r"[a-z]+(?:-[a-z]+)*|[,:;\-]")
_CLAUSE_END = frozenset({",", ":", ";", "-", "but", "and", "because", "since", "so", "as"})


def yes_no_verdict(response: str) -> str:
    """``"Yes"``, ``"No"`` or ``"N/A"`` for one response (rules in the module docstring)."""
    statements = [s for s in sentences(normalise(response, _REWRITES)) if not s.endswith("?")]
    for sentence in statements:
        if _HEDGES.search(sentence) or _REFUSAL.search(sentence):
            return NA
        answer = _explicit_answer(_TOKEN.findall(sentence))
        if answer is not None:
            return answer
    if statements and any(t in _NEGATORS for t in _TOKEN.findall(statements[0])):
        return NO
    return NA


def _explicit_answer(tokens: list[str]) -> str | None:
    """The sentence's answer (``NA`` when it says both), or None if it has no yes/no word."""
    lead = _leading_answer(tokens)
    if lead is not None:
        return lead
    found = set(_answer_words(tokens))
    if not found:
        return None
    return found.pop() if len(found) == 1 else NA


def _leading_answer(tokens: list[str]) -> str | None:
    start = 0
    while start < len(tokens) and tokens[start] in _FILLERS:
        start += 1
    if start == len(tokens):
        return None
    word, following = tokens[start], tokens[start + 1 : start + 2]
    if word in _YES_LEADS:
        return NO if following == ["not"] else YES
    if word == "not" and following in (["yes"], ["no"]):
        return NO if following == ["yes"] else YES  # "the answer is not no"
    if word in _NO_LEADS:
        return NO
    if word in _INTENSIFIERS:
        if following in (["not"], ["no"]):
            return NO
        return YES
    return None


def _answer_words(tokens: list[str]) -> Iterator[str]:
    """Yes/No for every answering "yes" or "no" in the sentence, flipped by a negator just before it."""
    for index, token in enumerate(tokens):
        if token == "yes":
            answer = YES
        elif token == "no" and _no_answers(tokens[index + 1 : index + 2]):
            answer = NO
        else:
            continue
        before = tokens[max(0, index - _NEGATION_REACH) : index]
        negated = any(t in _NEGATORS for t in before) and not any(t in _CLAUSE_END for t in before)
        yield _FLIP[answer] if negated else answer


def _no_answers(following: list[str]) -> bool:
    """Whether a "no" answers (end of clause, or a pronoun/article next) rather than negating a noun."""
    return not following or following[0] in _CLAUSE_END or following[0] in _NO_ANSWER_FOLLOWERS
