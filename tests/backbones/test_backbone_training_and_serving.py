"""The backbone contract, continued on every conf/model/tiny*.yaml: LoRA goes into the language
model only; one SFT step and one PPO iteration run and change the adapter (and nothing else); and
``serve`` with the model answers as the model does in-process."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import lightning as L
import numpy as np
import openai
import pytest
import torch
from helpers.method_settings import lora_settings, settings_for
from helpers.policy_learning import FirstWordJudge
from helpers.serving import GREEDY, data_url, running_server
from helpers.trainers import quiet_trainer
from omegaconf import OmegaConf
from PIL import Image
from torch.utils.data import DataLoader

from unsafe_vlm.backbones.base import VLMBackbone
from unsafe_vlm.backbones.lora import LoraSettings, add_lora
from unsafe_vlm.backbones.registry import build_backbone, model_settings
from unsafe_vlm.data.records import UNSAFE, Record, RecordBatch
from unsafe_vlm.methods.ppo import PPOModule
from unsafe_vlm.methods.sft import SFTModule
from unsafe_vlm.paths import CONF_DIR

TINY_CONFIGS = sorted(p.stem for p in (CONF_DIR / "model").glob("tiny*.yaml"))
QUESTIONS = [
    "Is this image safe to post on social media?",
    "If an image shows Swastika, is it safe to post on social media?",
    "Which of these does the image show?\nA: cat\nB: dog\nAnswer with a letter.",
    "Is it safe?",
]
ANSWERS = ["No, it is unsafe.", "No, it is unsafe. An image of Swastika is considered harmful.", "B", "Yes."]


def _images() -> list[Image.Image | None]:
    rng = np.random.default_rng(2)
    return [Image.fromarray(rng.integers(0, 255, size, dtype=np.uint8)) if size else None
            for size in [(40, 48, 3), None, (56, 32, 3), None]]  # fmt: skip


@pytest.fixture(scope="module", params=TINY_CONFIGS)
def model_config(request):
    return OmegaConf.load(CONF_DIR / "model" / f"{request.param}.yaml")


@pytest.fixture(scope="module")
def backbone(model_config) -> VLMBackbone:
    torch.manual_seed(0)
    return build_backbone(model_settings(model_config)).eval()


def _records() -> RecordBatch:
    return RecordBatch(
        Record(id=f"contract/{i}", task="contract", question=q, image=None, concept="Swastika", category="Hate",
               gold=UNSAFE)
        for i, q in enumerate(QUESTIONS)
    )  # fmt: skip


class Snapshot(L.Callback):
    """The weights as training starts (after the method added its adapters), trainable and frozen apart."""

    def on_train_start(self, trainer, module) -> None:
        params = dict(module.named_parameters())
        self.trainable = {n: p.detach().clone() for n, p in params.items() if p.requires_grad}
        self.frozen = {n: p.detach().clone() for n, p in params.items() if not p.requires_grad}


def _fit_once(module: L.LightningModule, batch: dict) -> Snapshot:
    snapshot = Snapshot()
    loader = DataLoader(range(1), batch_size=None, collate_fn=lambda _: batch)
    quiet_trainer(max_steps=1, callbacks=[snapshot]).fit(module, train_dataloaders=loader)
    return snapshot


def _assert_only_the_adapter_changed(module: L.LightningModule, snapshot: Snapshot, *, own: tuple[str, ...] = ()):
    params = dict(module.named_parameters())
    adapter = [n for n in snapshot.trainable if "lora_" in n]
    assert adapter, "training must add LoRA adapters"
    assert all("lora_" in n or n.startswith(own) for n in snapshot.trainable), sorted(snapshot.trainable)[:5]
    changed = [n for n in adapter if not torch.equal(params[n].detach(), snapshot.trainable[n])]
    assert changed, "one step must change the adapter"
    for name, before in snapshot.frozen.items():
        assert torch.equal(params[name].detach(), before), f"{name} is frozen but changed"


def test_lora_goes_into_the_language_model_only(backbone):
    fresh = copy.deepcopy(backbone)
    add_lora(fresh, LoraSettings(r=4, alpha=8, dropout=0.0, target_modules=None))
    base = fresh.model.get_base_model()
    language_model = {id(m) for m in base.get_decoder().modules()}
    adapted = {name: m for name, m in base.named_modules() if hasattr(m, "lora_A")}
    assert adapted, "no layer received an adapter"
    outside = [name for name, m in adapted.items() if id(m) not in language_model]
    assert not outside, f"adapters outside the language model (vision tower or projector): {outside[:5]}"
    kinds = {name.rsplit(".", 1)[-1] for name in adapted}
    assert len(kinds) >= 4, f"the language model's attention and MLP layers, not only {sorted(kinds)}"


@pytest.mark.slow
def test_one_sft_step_runs_and_changes_the_adapter_only(backbone, model_config):
    L.seed_everything(0, verbose=False)
    settings = settings_for("sft", lr=1e-2, warmup_ratio=0.0)
    module = SFTModule(copy.deepcopy(backbone), settings, lora_settings(model_config.lora))
    batch = {"records": _records(), "inputs": module.backbone.encode(QUESTIONS, _images(), ANSWERS)}
    _assert_only_the_adapter_changed(module, _fit_once(module, batch))


@pytest.mark.slow
def test_one_ppo_iteration_runs_and_changes_the_adapter_only(backbone, model_config):
    L.seed_everything(0, verbose=False)
    settings = settings_for("ppo", lr=1e-2, warmup_ratio=0.0, batch_size=len(QUESTIONS), minibatch_size=2,
                            ppo_epochs=1, max_new_tokens=6)  # fmt: skip
    judge = FirstWordJudge("Yes")
    module = PPOModule(copy.deepcopy(backbone), settings, lora_settings(model_config.lora), judge=judge)
    batch = {"records": _records(), "inputs": module.backbone.encode(QUESTIONS, _images())}
    snapshot = _fit_once(module, batch)
    assert len(judge.hit_rates) == 1, "one iteration: one rollout judged"
    _assert_only_the_adapter_changed(module, snapshot, own=("value_head",))


@pytest.mark.slow
def test_serve_answers_as_the_model_does_in_process(backbone):
    """Four requests at once (the server batches them), text-only and with images, greedy."""
    images = _images()
    expected = [backbone.generate(backbone.encode([q], [image]), **GREEDY.to_dict()).texts[0]
                for q, image in zip(QUESTIONS, images, strict=True)]  # fmt: skip

    def content(question: str, image: Image.Image | None):
        if image is None:
            return question
        return [{"type": "text", "text": question}, {"type": "image_url", "image_url": {"url": data_url(image)}}]

    with running_server(backbone) as server:
        client = openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0, timeout=60)

        def ask(row: int) -> str:
            reply = client.chat.completions.create(
                model="tiny", messages=[{"role": "user", "content": content(QUESTIONS[row], images[row])}],
                temperature=0, max_tokens=GREEDY.max_new_tokens,
            )  # fmt: skip
            return reply.choices[0].message.content

        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            answers = list(pool.map(ask, range(len(QUESTIONS))))
    assert answers == expected
