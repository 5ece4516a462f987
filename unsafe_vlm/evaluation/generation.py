"""How the evaluation generates answers: ``generation.*`` (conf/generation/default.yaml), in
``evaluate`` and in the evaluations before and after ``fit`` alike."""

from __future__ import annotations

from dataclasses import dataclass

from unsafe_vlm.settings import Refused, Settings, limit


@dataclass(frozen=True)
class GenerationSettings(Settings):
    """The keyword arguments of ``VLMBackbone.generate`` for every evaluation answer."""

    max_new_tokens: int = limit(ge=1)  # answer length cap
    do_sample: bool  # false: greedy (temperature and top_p unused)
    temperature: float = limit(ge=0)
    top_p: float = limit(gt=0, le=1)

    def check(self) -> None:
        if self.do_sample and self.temperature == 0:
            raise Refused("temperature", "0 must be > 0 when do_sample is true (or set do_sample=false: greedy)")
