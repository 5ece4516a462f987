"""Read a judge's weights file and map its key names onto the suite's classifier.

Accepted layouts of a judge state dict (the paper's checkpoints and common variants):

- encoder keys under ``roberta.``, ``model.`` or no prefix (a bare ``RobertaModel`` state dict,
  keys starting ``embeddings.`` / ``encoder.``);
- head keys ``classifier.weight``/``.bias``, ``fc.*`` or ``head.*`` (one ``Linear``);
- any of the above under ``module.`` (DDP) or ``_orig_mod.`` (``torch.compile``);
- a mapping whose ``state_dict`` / ``model_state_dict`` / ``model`` entry is the state dict.

Dropped on purpose: ``pooler.*`` (the judge reads the first token's last hidden state, so the
pooler is unused) and the ``embeddings.position_ids`` / ``token_type_ids`` buffers that older
transformers versions saved. Anything else must match the classifier exactly; otherwise the
error lists the missing, unexpected and wrongly shaped keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from unsafe_vlm.judges.errors import JudgeError

TORCH_SUFFIXES = (".pt", ".pth", ".bin")
SAFETENSORS_SUFFIX = ".safetensors"
ENCODER_PREFIXES = ("roberta.", "model.")
HEAD_PREFIXES = ("classifier.", "fc.", "head.")
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_NESTED_KEYS = ("state_dict", "model_state_dict", "model")
_UNUSED = ("pooler.",)
_OLD_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")
_LISTED = 8


def read_state_dict(path: str | Path, key: str) -> dict[str, torch.Tensor]:
    """Load a state dict safely (``weights_only`` pickle or safetensors); ``key`` is the config key, for errors."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise JudgeError(f"judge.{key}: judge weights file {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == SAFETENSORS_SUFFIX:
            from safetensors.torch import load_file

            loaded = load_file(str(path), device="cpu")
        elif suffix in TORCH_SUFFIXES:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        else:
            known = ", ".join((*TORCH_SUFFIXES, SAFETENSORS_SUFFIX))
            raise JudgeError(f"judge.{key}: {path} has suffix {suffix!r}; judge weights must be one of {known}")
    except JudgeError:
        raise
    except Exception as error:  # torch and safetensors raise many kinds; all mean an unreadable file
        raise JudgeError(f"judge.{key}: cannot read {path} as a weights file: {_first_line(error)}") from None
    return _as_state_dict(loaded, path, key)


def _as_state_dict(loaded: object, path: Path, key: str) -> dict[str, torch.Tensor]:
    if isinstance(loaded, Mapping):
        for nested in _NESTED_KEYS:
            if isinstance(loaded.get(nested), Mapping):
                loaded = loaded[nested]
                break
    if not isinstance(loaded, Mapping) or not loaded:
        raise JudgeError(f"judge.{key}: {path} holds {_describe(loaded)}, not a state dict (a mapping name -> tensor)")
    bad = [str(k) for k, v in loaded.items() if not (isinstance(k, str) and isinstance(v, torch.Tensor))]
    if bad:
        raise JudgeError(f"judge.{key}: {path} is not a state dict: entries that are not tensors: {_listing(bad)}")
    return dict(loaded)


def classifier_state(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Rename keys to ``encoder.*`` / ``head.*``; also return new name -> name in the file, for errors."""
    renamed: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    for original, tensor in state.items():
        name = original
        for prefix in WRAPPER_PREFIXES:
            name = name.removeprefix(prefix)
        head_prefix = next((p for p in HEAD_PREFIXES if name.startswith(p)), None)
        if head_prefix is not None:
            name = "head." + name[len(head_prefix) :]
        else:
            encoder_prefix = next((p for p in ENCODER_PREFIXES if name.startswith(p)), "")
            name = name[len(encoder_prefix) :]
            if name.startswith(_UNUSED) or name in _OLD_BUFFERS:
                continue
            name = "encoder." + name
        renamed[name] = tensor
        origin[name] = original
    return renamed, origin


def load_checked(module: nn.Module, state: Mapping[str, torch.Tensor], origin: Mapping[str, str], where: str) -> None:
    """Load ``state`` into ``module`` only if every key and shape matches; else one error listing what is off."""
    expected = module.state_dict()
    missing = sorted(_paper_name(k) for k in set(expected) - set(state))
    unexpected = sorted(origin.get(k, k) for k in set(state) - set(expected))
    wrong = [
        f"{origin.get(k, k)} {tuple(state[k].shape)} (expected {tuple(expected[k].shape)})"
        for k in sorted(state)
        if k in expected and state[k].shape != expected[k].shape
    ]
    problems = [
        f"{label}: {_listing(keys)}"
        for label, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", wrong))
        if keys
    ]
    if problems:
        layout = (
            f"encoder under {', '.join(map(repr, ENCODER_PREFIXES))} or no prefix, "
            f"head under {', '.join(map(repr, HEAD_PREFIXES))}"
        )
        hint = ""
        if any(".out_proj." in k for k in unexpected):
            hint = " (this looks like a RobertaForSequenceClassification: give its folder as judge.<task>_model)"
        raise JudgeError(f"{where}: does not fit the judge classifier ({'; '.join(problems)}); expected {layout}{hint}")
    module.load_state_dict(dict(state))


def _paper_name(key: str) -> str:
    """An internal key as the paper names it: ``encoder.x`` -> ``roberta.x``, ``head.x`` -> ``classifier.x``."""
    section, _, rest = key.partition(".")
    return {"encoder": "roberta.", "head": "classifier."}.get(section, section + ".") + rest


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LISTED])
    return shown if len(keys) <= _LISTED else f"{shown} and {len(keys) - _LISTED} more"


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    if isinstance(value, Mapping):
        return "an empty mapping"
    return f"a {type(value).__name__}"


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
