"""The data sources: one file each (its reader, record builders, tasks and data module), named by
``data.source`` in ``conf/data/<name>.yaml``.

``SOURCES`` is the registry of data modules; it is open, so a config may also name a data module
of your own as ``source: package.module:Name`` (a ``RecordDataModule`` subclass with a
``settings_class``; its module registers its tasks). A command builds its data module in two steps::

    settings = data_settings(node)        # the typed settings of node["source"], checked
    datamodule = build_datamodule(settings)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from unsafe_vlm.data.errors import DataConfigError
from unsafe_vlm.data.settings import PREFIX, EvalLoaderSettings
from unsafe_vlm.registry import Registry, UnknownChoice
from unsafe_vlm.settings import SettingsError

SOURCES: Registry[Any] = Registry(
    "data source",
    f"{PREFIX}.source",
    {
        "unsafe_concepts": "unsafe_vlm.data.sources.unsafe_concepts:SafetyDataModule",
        "image_safety": "unsafe_vlm.data.sources.image_safety:ImageSafetyDataModule",
        "mme": "unsafe_vlm.data.sources.mme:MMEDataModule",
        "llavabench": "unsafe_vlm.data.sources.llavabench:LLaVABenchDataModule",
        "mm_safetybench": "unsafe_vlm.data.sources.mm_safetybench:MMSafetyBenchDataModule",
        "jailbreakv": "unsafe_vlm.data.sources.jailbreakv:JailbreakVDataModule",
        "siuo": "unsafe_vlm.data.sources.siuo:SIUODataModule",
        "vlsbench": "unsafe_vlm.data.sources.vlsbench:VLSBenchDataModule",
        "mossbench": "unsafe_vlm.data.sources.mossbench:MOSSBenchDataModule",
        "holisafe": "unsafe_vlm.data.sources.holisafe:HoliSafeDataModule",
        "mssbench": "unsafe_vlm.data.sources.mssbench:MSSBenchDataModule",
    },
    open=True,
)
"""Each data source's data module, in the order of its tasks in ``metrics.json`` and the reports."""


def source_module(source: Any) -> Any:
    """The data module class of ``source`` (a name of ``SOURCES``, or ``package.module:Name``)."""
    if not isinstance(source, str) or not source:
        choices = ", ".join(SOURCES)
        raise DataConfigError(f"{SOURCES.key}: is missing; a data config names its data source, one of: {choices}")
    try:
        return SOURCES.get(source)
    except UnknownChoice as error:
        raise DataConfigError(str(error)) from None


def data_settings(node: Mapping[str, Any]) -> EvalLoaderSettings:
    """The typed settings of a whole ``data`` node (plain values), by the settings class of its
    ``source``; a ``DataConfigError`` naming the key otherwise."""
    module = source_module(node.get("source"))
    try:
        return module.settings_class.from_config(node, PREFIX)
    except SettingsError as error:
        raise DataConfigError(str(error)) from None


def build_datamodule(settings: EvalLoaderSettings) -> Any:
    """The data module (a ``LightningDataModule``) of checked settings."""
    return source_module(settings.source)(settings)
