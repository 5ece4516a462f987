"""Whether the model a run names can be loaded at all, found out in seconds and before any data is read.

A checkpoint that cannot load used to fail late and slowly: transformers asks the hub for a dozen
files, huggingface_hub retries each unreachable request five times (23 s a file), and the run
ended minutes later in a long traceback. ``check_model`` asks the hub once, for ``config.json``,
with a short timeout and no retries, and turns each way loading can fail into one line naming
``model.path`` and what to do: the hub cannot be reached, the model is gated, there is no such
model or revision, a local folder does not exist or lacks its files, or transformers does not
know the architecture or does not load it as image-text-to-text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from unsafe_vlm.errors import UserError
from unsafe_vlm.paths import shipped_or_given
from unsafe_vlm.registry import did_you_mean

HUB_TIMEOUT_S = 3.0
"""Seconds the one hub request may take: a reachable hub answers a HEAD request in well under that."""


class ModelUnavailableError(UserError):
    """``model.path`` (or ``model.revision``) names a model that cannot be loaded from here."""


def check_model(model: Any) -> None:
    """Check the checkpoint a ``model`` node's settings name; a tiny instance (no path) or a model
    behind an API has nothing to load."""
    path = getattr(model, "path", None)
    if path:
        check_checkpoint(path, revision=model.revision, trust_remote_code=model.trust_remote_code)


def check_checkpoint(
    path: str,
    *,
    revision: str | None = None,
    trust_remote_code: bool = False,
    timeout: float = HUB_TIMEOUT_S,
    endpoint: str | None = None,
) -> None:
    """Raise ``ModelUnavailableError`` (one line) unless ``path`` is a loadable local folder or hub id.

    endpoint: the hub to ask (default: ``HF_ENDPOINT``, else huggingface.co).
    """
    folder = Path(shipped_or_given(path)).expanduser()
    if folder.is_dir():
        from unsafe_vlm.backbones.base import check_model_folder  # with torch: seconds to import

        check_model_folder(folder)
        config_file = folder / "config.json"
    elif folder.exists():
        raise ModelUnavailableError(f"model.path: {path} is a file; give the folder that holds config.json")
    elif _looks_local(path):
        raise ModelUnavailableError(_missing_folder(path, folder))
    else:
        config_file = _hub_config(path, revision, timeout, endpoint)
    _check_architecture(path, config_file, trust_remote_code)


def _looks_local(path: str) -> bool:
    """A path that cannot be a hub id (``/abs``, ``./x``, ``a/b/c``), or whose first part is a local folder."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(path)
    except HFValidationError:
        return True
    return "/" in path and Path(path.split("/")[0]).expanduser().is_dir()


def _missing_folder(path: str, folder: Path) -> str:
    parent = folder.parent
    if not parent.is_dir():
        return f"model.path: no folder {path} (nor its parent {parent}); give a local checkpoint folder or a hub id"
    names = [p.name for p in parent.iterdir() if p.is_dir()]
    return f"model.path: no folder {path}; {did_you_mean(folder.name, names)}give a local checkpoint folder or a hub id"


def _hub_config(repo: str, revision: str | None, timeout: float, endpoint: str | None) -> Path:
    """The repository's config.json in the local hub cache, fetched if need be, after one request without retries."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url, try_to_load_from_cache
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HTTPError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    cached = try_to_load_from_cache(repo, "config.json", revision=revision)
    if constants.HF_HUB_OFFLINE:
        if isinstance(cached, str):
            return Path(cached)
        raise ModelUnavailableError(
            f"model.path: {repo} is not in the hub cache ({constants.HF_HUB_CACHE}) and HF_HUB_OFFLINE is set; "
            f"download it once where there is network (hf download {repo}), or give a local folder"
        )
    endpoint = endpoint or constants.ENDPOINT
    try:
        get_hf_file_metadata(hf_hub_url(repo, "config.json", revision=revision, endpoint=endpoint), timeout=timeout)
        fetched = hf_hub_download(repo, "config.json", revision=revision, etag_timeout=timeout, endpoint=endpoint)
        return Path(fetched)
    except GatedRepoError:
        raise ModelUnavailableError(
            f"model.path: {repo} is gated: accept its terms at {endpoint}/{repo}, then log in with a token "
            "that has access (hf auth login, or set HF_TOKEN)"
        ) from None
    except RepositoryNotFoundError:
        raise ModelUnavailableError(
            f"model.path: no model {repo} on {endpoint} (or it is private: log in with a token that can read it); "
            "check the id, or give a local folder"
        ) from None
    except RevisionNotFoundError:
        raise ModelUnavailableError(f"model.revision: {repo} has no revision {revision!r} on {endpoint}") from None
    except RemoteEntryNotFoundError:
        raise ModelUnavailableError(
            f"model.path: {repo} has no config.json on {endpoint}; it is not a transformers checkpoint"
        ) from None
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "an error"
        raise ModelUnavailableError(f"model.path: {endpoint} answered {status} for {repo}; try again later") from None
    except HTTPError as error:  # no connection, a timeout: huggingface_hub's transport errors
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if isinstance(cached, str):
            raise ModelUnavailableError(
                f"model.path: cannot reach {endpoint} ({reason}) to check {repo}; it is in the hub cache: "
                "set HF_HUB_OFFLINE=1 to load it from there"
            ) from None
        raise ModelUnavailableError(
            f"model.path: cannot reach {endpoint} ({reason}) to fetch {repo}; connect to the network, "
            "or download it elsewhere and give its folder"
        ) from None


def _check_architecture(path: str, config_file: Path, trust_remote_code: bool) -> None:
    """The config names an architecture transformers knows and loads as image-text-to-text."""
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    try:
        config = json.loads(config_file.read_text())
    except (OSError, ValueError) as error:
        raise ModelUnavailableError(f"model.path: cannot read {config_file}: {error}") from None
    if "auto_map" in config and trust_remote_code:
        return  # the checkpoint's own code defines the architecture
    model_type = config.get("model_type")
    if not isinstance(model_type, str):
        raise ModelUnavailableError(f"model.path: {config_file} names no model_type; it is not a transformers config")
    if model_type not in CONFIG_MAPPING_NAMES:
        if "auto_map" in config:
            advice = "it ships its own code: set model.trust_remote_code=true if you trust it"
        else:
            advice = f"{did_you_mean(model_type, CONFIG_MAPPING_NAMES)}a newer transformers may know it"
        raise ModelUnavailableError(
            f"model.path: {path} is a {model_type!r} model, an architecture transformers "
            f"{transformers.__version__} does not know; {advice}"
        )
    if model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        raise ModelUnavailableError(
            f"model.path: {path} is a {model_type!r} model, which transformers does not load as "
            "image-text-to-text; give a vision-language checkpoint"
        )
