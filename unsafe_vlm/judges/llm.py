"""An LLM as the judge (``judge=llm``, ``conf/judge/llm.yaml``): a local causal language model, or a
model behind an OpenAI-compatible endpoint, reads each answer through a prompt from the config.

- local (``judge.model``): the probabilities the model gives each class label after the prompt, so
  the judge grades as the RoBERTa judges do and PPO can take its probabilities as the reward;
- an endpoint (``judge.api``): the reply is read as a class label (one-hot, ``smoothing`` spread
  over the classes); a reply that is no label is N/A, and its text is kept in the response row
  (``judge_output``). A request that failed (an HTTP status such as a content filter's 400, a body
  that is no answer) is no verdict: its row gets ``judge_error`` and is asked again. A think block
  in the reply is set aside, a verdict line ("Verdict: Unsafe") or a self-correction's last label
  counts (``judges.reasoning``).

With ``prompts.relative`` it also scores free answers against a reference (``judges.relative``,
data=llavabench): an endpoint's reply is read for the two scores on its first line (else N/A); a
local model gives the expected score under its probabilities of the labels 1..10, first the
reference's right after the prompt, then the answer's after the prompt and the reference's most
probable score (no reply to read, so never N/A).

The safety sets (``data.safety``, judge kinds ``refusal`` and ``harm``) bring their own prompt and label
words (``Task.judge_prompt``, the authors'); ``judge.prompts.<task>`` replaces a set's prompt (for all its
categories) and keeps its label words. An endpoint's reply is read by its first word (else N/A); a local
model gives its probabilities of the label words.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from unsafe_vlm.api.client import ApiModel
from unsafe_vlm.api.settings import ApiModelSettings
from unsafe_vlm.data.safety import PROMPT_FIELDS, JudgePrompt
from unsafe_vlm.data.tasks import TASKS
from unsafe_vlm.judges.base import (
    ALIGNMENT_CLASSES,
    ERROR_REPLY,
    NA,
    OPTION_LETTERS,
    PERCEPTION_CLASSES,
    YES_NO_CLASSES,
    Judge,
    Options,
    one_hot,
    option_map,
)
from unsafe_vlm.judges.errors import JudgeError
from unsafe_vlm.judges.identity import files_sha256, text_sha256
from unsafe_vlm.judges.llm_local import LocalLabelScorer
from unsafe_vlm.judges.reasoning import final_reading, set_aside_reasoning
from unsafe_vlm.judges.relative import (
    SCORES,
    RelativeReading,
    ScoredAnswer,
    exclusive_probabilities,
    expected_score,
    read_scores,
)
from unsafe_vlm.judges.safety import CLASSES as SAFETY_CLASSES
from unsafe_vlm.judges.safety import SafetyItem, SafetyReading, read_reply
from unsafe_vlm.settings import Settings, limit

CLASSES = {"alignment": ALIGNMENT_CLASSES, "perception": PERCEPTION_CLASSES, "yes_no": YES_NO_CLASSES}
_FIELDS = {"alignment": ("response",), "perception": ("response", "options"), "yes_no": ("response",)}
_OPTIONAL_FIELDS = {"relative": ("caption", "question", "reference", "response")}  # only data=llavabench needs it
_API_DEFAULTS = {"api_key_env": None, "concurrency": 8, "timeout": 60.0, "max_retries": 4,
                 "max_tokens_key": "max_tokens", "reasoning_tokens": 0, "omit_keys": [], "extra_body": None,
                 "extra_headers": None, "extra_headers_env": None}  # fmt: skip
_REQUEST_KEYS = ("max_tokens_key", "reasoning_tokens", "omit_keys", "extra_body")
_REPLY_TOKENS = 8  # a label is a word or two
_SCORE_REPLY_TOKENS = 48  # the two scores lead the reply; the start of its explanation is kept for reading


@dataclass(frozen=True)
class LLMSettings(Settings):
    """``judge`` of conf/judge/llm.yaml (what each key means is written there)."""

    name: str
    model: str | None
    api: dict[str, Any] | None  # checked when the judge is built (judge.api.*)
    trust_remote_code: bool
    label_prefix: str
    smoothing: float = limit(ge=0, lt=1)
    batch_size: int = limit(ge=1)
    max_length: int = limit(ge=1)
    device: str
    prompts: dict[str, str | None]  # null: a prompt the judge goes without (relative)


class LLMJudge(Judge):
    settings_class = LLMSettings

    def __init__(
        self,
        prompts: Mapping[str, str],
        model: str | None = None,
        api: Mapping[str, Any] | None = None,
        trust_remote_code: bool = False,
        label_prefix: str = " ",
        smoothing: float = 0.0,
        batch_size: int = 16,
        max_length: int = 2048,
        device: str = "cpu",
        name: str = "llm",
    ) -> None:
        if (model is None) == (api is None):
            raise JudgeError("judge=llm needs exactly one of judge.model (a local folder) and judge.api (an endpoint)")
        if not 0.0 <= smoothing < 1.0:
            raise JudgeError(f"judge.smoothing must be in [0, 1), got {smoothing}")
        if batch_size < 1:
            raise JudgeError(f"judge.batch_size must be at least 1, got {batch_size}")
        self.name = name
        self.prompts = _checked_prompts(prompts)
        self.label_prefix = label_prefix
        self.smoothing = smoothing
        self.outputs: dict[tuple[str, str], str] = {}  # (kind, prompt) -> the endpoint's reply
        self.scorer = None
        self.client = None
        if model is not None:
            self.scorer = LocalLabelScorer(
                model, trust_remote_code=trust_remote_code, batch_size=batch_size, max_length=max_length, device=device
            )
            self.source = str(model)
        else:
            settings = _api_settings(api)
            self.client = ApiModel(settings, prefix="judge.api")
            self.source = f"{settings.model} at {settings.base_url}"

    def identity(self) -> dict[str, str]:
        identity = {"model": self.source, "prompt_sha256": text_sha256(json.dumps([self.prompts, self.label_prefix]))}
        if self.scorer is not None:
            identity["weights_sha256"] = files_sha256(self.scorer.weight_files())
        else:
            identity["smoothing"] = str(self.smoothing)
            request = _request_settings(self.client.settings)
            if request:  # only when set, so that the identity of a judge without them stays as it was
                identity["request"] = json.dumps(request, sort_keys=True)
        return identity

    # ----- the Judge interface -------------------------------------------------------------------

    def judge_alignment(self, responses: Sequence[str]) -> torch.Tensor:
        return self._judge("alignment", [{"response": r} for r in responses])

    def judge_perception(self, responses: Sequence[str], options: Sequence[Options]) -> torch.Tensor:
        if len(options) != len(responses):
            raise ValueError(f"{len(responses)} responses but {len(options)} option sets")
        fields = [{"response": r, "options": _option_lines(o)} for r, o in zip(responses, options, strict=True)]
        return self._judge("perception", fields)

    def judge_yes_no(self, responses: Sequence[str]) -> torch.Tensor:
        return self._judge("yes_no", [{"response": r} for r in responses])

    def judge_outputs(self, kind: str, responses: Sequence[str], options: Sequence[Options] = ()) -> list[str | None]:
        """The endpoint's reply to each response's prompt (None for a local model, whose reading is its
        probabilities), for the response rows."""
        if self.client is None:
            return [None] * len(responses)
        if kind == "perception":
            fields = [{"response": r, "options": _option_lines(o)} for r, o in zip(responses, options, strict=True)]
        else:
            fields = [{"response": r} for r in responses]
        return [self.outputs.get((kind, self.prompts[kind].format(**f))) for f in fields]

    def judge_relative(self, items: Sequence[ScoredAnswer]) -> RelativeReading:
        """(N, 2) scores, the reference answer's then the answer's (NaN: a reply with no two scores)."""
        template = self.prompts.get("relative")
        if template is None:
            fields = ", ".join("{" + f + "}" for f in _OPTIONAL_FIELDS["relative"])
            raise JudgeError(f"judge.prompts.relative: missing (a prompt with {fields}); data=llavabench needs it")
        prompts = [template.format(caption=i.caption, question=i.question, reference=i.reference, response=i.response)
                   for i in items]  # fmt: skip
        if not prompts:
            return RelativeReading(torch.zeros(0, 2, dtype=torch.float64), [])
        if self.scorer is not None:
            return RelativeReading(self._expected_scores(prompts), [None] * len(prompts))
        replies = self._replies(prompts, _SCORING)
        read = [read_scores(set_aside_reasoning(reply)) for reply in replies]
        unread = (float("nan"), float("nan"))
        return RelativeReading(torch.tensor([r or unread for r in read], dtype=torch.float64), list(replies))

    def judge_safety(self, kind: str, task: str, items: Sequence[SafetyItem]) -> SafetyReading:
        """A safety set's answers read through its own prompt (or ``judge.prompts.<task>``) and label words."""
        classes = SAFETY_CLASSES[kind]
        published = _set_prompt(task)
        override = self.prompts.get(task)
        prompts = [(override or published.template_for(i.category)).format(**i.fields()) for i in items]
        if not prompts:
            return SafetyReading(torch.zeros(0, len(classes)), [])
        labels = [{w: name for w, name in published.labels_for(i.category).items() if name in classes} for i in items]
        if self.scorer is not None:
            return SafetyReading(self._label_probabilities(task, prompts, labels, classes), [None] * len(prompts))
        tokens = published.reply_tokens or _REPLY_TOKENS
        replies = self._replies(prompts, {**_GREEDY, "max_new_tokens": tokens})
        pattern = published.pattern
        names = [NA if r.startswith(ERROR_REPLY) else final_reading(r, lambda t, m=m: read_reply(t, m, pattern))
                 for r, m in zip(replies, labels, strict=True)]  # fmt: skip
        return SafetyReading(one_hot(names, classes, self.smoothing), list(replies))

    def _label_probabilities(self, task: str, prompts: list[str], labels: list[dict], classes) -> torch.Tensor:
        """A local model's probabilities of each class's label word after each prompt (N/A: 0), the prompts
        that share their label words scored together."""
        read = torch.zeros(len(prompts), len(classes))
        groups: dict[tuple, list[int]] = {}
        for n, words in enumerate(labels):
            groups.setdefault(tuple(sorted(words.items())), []).append(n)
        for key, rows in groups.items():
            words = dict(key)
            first = [next((w for w, name in words.items() if name == c), None) for c in classes if c != NA]
            if None in first:
                raise JudgeError(f"task {task!r}: its judge prompt's labels must name each of {classes[:-1]} for a "
                                 "local judge to score them")  # fmt: skip
            scored = self.scorer.probabilities([prompts[n] for n in rows], [self.label_prefix + w for w in first])
            read[rows, : len(first)] = scored
        return read

    def _expected_scores(self, prompts: list[str]) -> torch.Tensor:
        labels = [self.label_prefix + str(score) for score in SCORES]
        ids = self.scorer.label_ids(labels)
        first = exclusive_probabilities(self.scorer.label_logprobs(prompts, labels), ids)
        likely = [labels[i] for i in first.argmax(-1).tolist()]
        continued = [prompt + score for prompt, score in zip(prompts, likely, strict=True)]
        second = exclusive_probabilities(self.scorer.label_logprobs(continued, labels), ids)
        return torch.stack([expected_score(first), expected_score(second)], dim=1)

    def _judge(self, kind: str, fields: list[dict[str, str]]) -> torch.Tensor:
        classes = CLASSES[kind]
        if not fields:
            return torch.zeros(0, len(classes))
        prompts = [self.prompts[kind].format(**f) for f in fields]
        if self.scorer is not None:
            return self.scorer.probabilities(prompts, [self.label_prefix + c for c in classes])
        texts = self._replies(prompts, _GREEDY)
        # One prompt asked twice in a call (two equal answers): a failed request wins over a reply, so
        # that the rows of both are error rows, as ``judge_outputs`` (by prompt) will say.
        failed = {prompt: text for prompt, text in zip(prompts, texts, strict=True) if text.startswith(ERROR_REPLY)}
        texts = [failed.get(prompt, text) for prompt, text in zip(prompts, texts, strict=True)]
        for prompt, text in zip(prompts, texts, strict=True):
            self.outputs[(kind, prompt)] = text
        labels = [final_reading(t, lambda reply: read_label(reply, classes)) for t in texts]
        return one_hot(labels, classes, self.smoothing)

    def _replies(self, prompts: list[str], generation: Mapping[str, Any]) -> list[str]:
        replies = self.client.answer([self.client.encode([p], [None])[0] for p in prompts], dict(generation))
        return [reply.text if reply.error is None else ERROR_REPLY + reply.error for reply in replies]


_GREEDY = {"max_new_tokens": _REPLY_TOKENS, "do_sample": False, "temperature": 1.0, "top_p": 1.0}
_SCORING = {**_GREEDY, "max_new_tokens": _SCORE_REPLY_TOKENS}


def read_label(reply: str, classes: Sequence[str]) -> str:
    """The class a reply names: its first word (or "N/A"), case and punctuation aside; else N/A."""
    words = reply.strip().split()
    if not words:
        return NA
    first = words[0].strip(string.punctuation.replace("/", "") + "“”‘’").lower()
    for name in classes:
        if first == name.lower() or (name == NA and first in ("na", "n/a", "none")):
            return name
    return NA


def _checked_prompts(prompts: Mapping[str, str]) -> dict[str, str]:
    checked = {}
    for kind, fields in {**_FIELDS, **_OPTIONAL_FIELDS}.items():
        template = prompts.get(kind) if isinstance(prompts, Mapping) else None
        if kind in _OPTIONAL_FIELDS and template is None:
            continue
        if not isinstance(template, str):
            raise JudgeError(
                f"judge.prompts.{kind}: missing (a prompt with {', '.join('{' + f + '}' for f in fields)})"
            )
        try:
            template.format(**dict.fromkeys(fields, ""))
        except (KeyError, IndexError, ValueError) as error:
            raise JudgeError(f"judge.prompts.{kind}: a placeholder other than {fields} ({error})") from None
        missing = [f for f in fields if "{" + f + "}" not in template]
        if missing:
            raise JudgeError(f"judge.prompts.{kind}: the prompt must hold {{{missing[0]}}}")
        checked[kind] = template
    unknown = sorted(set(prompts) - set(_FIELDS) - set(_OPTIONAL_FIELDS))
    sets = _sets_with_prompts()
    for name in unknown:
        if name not in sets:
            names = ", ".join([*_FIELDS, *_OPTIONAL_FIELDS])
            raise JudgeError(f"judge.prompts.{name}: unknown; the prompts are {names}, or a safety set's "
                             f"own ({', '.join(sets) or 'none'})")  # fmt: skip
        if prompts[name] is not None:
            checked[name] = _checked_set_prompt(name, prompts[name])
    return checked


def _sets_with_prompts() -> list[str]:
    return [name for name, task in TASKS.items() if task.judge_prompt is not None]


def _set_prompt(task: str) -> JudgePrompt:
    prompt = TASKS[task].judge_prompt if task in TASKS else None
    if prompt is None:
        raise JudgeError(f"task {task!r} brings no judge prompt; judge=llm reads only the safety sets that do")
    return prompt


def _checked_set_prompt(task: str, template: Any) -> str:
    """A replacement of a safety set's prompt: text holding {response} and only ``PROMPT_FIELDS``."""
    if not isinstance(template, str):
        raise JudgeError(f"judge.prompts.{task}: must be text (a prompt with {{response}})")
    try:
        template.format(**dict.fromkeys(PROMPT_FIELDS, ""))
    except (KeyError, IndexError, ValueError) as error:
        raise JudgeError(f"judge.prompts.{task}: a placeholder other than {PROMPT_FIELDS} ({error})") from None
    if "{response}" not in template:
        raise JudgeError(f"judge.prompts.{task}: the prompt must hold {{response}}")
    return template


def _api_settings(api: Mapping[str, Any]) -> ApiModelSettings:
    given = dict(api)
    for key in ("base_url", "model"):
        if key not in given:
            raise JudgeError(f"judge.api.{key}: missing (the endpoint's address up to /v1, and its model name)")
    values = {**_API_DEFAULTS, **given, "name": "judge", "family": "api", "seed": None,
              "text_only_image": "none", "blank_image_size": 1}  # fmt: skip
    return ApiModelSettings.from_config(values, "judge.api")


def _request_settings(settings: ApiModelSettings) -> dict[str, Any]:
    """The endpoint settings that change the judge's replies, where they differ from the defaults."""
    values = {key: getattr(settings, key) for key in _REQUEST_KEYS}
    return {key: value for key, value in values.items() if value != _API_DEFAULTS[key]}


def _option_lines(options: Options) -> str:
    texts = option_map(options)
    return "\n".join(f"{letter}: {texts[letter]}" for letter in OPTION_LETTERS)
