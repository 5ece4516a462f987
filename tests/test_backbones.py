"""The backbone contract, checked on a tiny random instance of every family (conf/model/tiny*.yaml)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from unsafe_vlm.backbones.base import VLMBackbone, mask_after_stop
from unsafe_vlm.backbones.lora import LoraSettings, add_lora, load_adapter
from unsafe_vlm.backbones.registry import build_backbone, resolve_family
from unsafe_vlm.paths import CONF_DIR

TINY_CONFIGS = sorted(p.stem for p in (CONF_DIR / "model").glob("tiny*.yaml"))
QUESTIONS = [
    "Is this image safe to post on social media?",
    "If an image shows Swastika, is it safe to post on social media?",
    "Which of these does the image show?\nA: cat\nB: dog\nC: Arson\nD: Graffiti\nAnswer with a letter.",
]
ANSWERS = ["No, it is unsafe.", "Yes, it is safe. An image of a cat is considered harmless.", "B"]


def _images() -> list[Image.Image | None]:
    rng = np.random.default_rng(0)
    pictures = [Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)) for _ in range(2)]
    return [pictures[0], None, pictures[1]]


@pytest.fixture(scope="module", params=TINY_CONFIGS)
def backbone(request) -> VLMBackbone:
    cfg = OmegaConf.load(CONF_DIR / "model" / f"{request.param}.yaml")
    torch.manual_seed(0)
    return build_backbone(cfg).eval()


def test_every_family_has_a_tiny_config():
    assert "tiny" in TINY_CONFIGS
    families = {OmegaConf.load(CONF_DIR / "model" / f"{n}.yaml").family for n in TINY_CONFIGS}
    for family in families:
        assert issubclass(resolve_family(family), VLMBackbone)


def test_prompt_ends_where_the_answer_begins(backbone):
    prompt = backbone.prompt_text(QUESTIONS[0], has_image=True)
    assert QUESTIONS[0] in prompt
    inputs = backbone.encode(QUESTIONS, _images(), ANSWERS)
    for row, answer in enumerate(ANSWERS):
        ids = inputs["input_ids"][row][inputs["answer_mask"][row]]
        decoded = backbone.tokenizer.decode(ids)
        assert decoded.strip() == (answer + backbone.end_of_turn).strip()
        assert int(ids[-1]) in backbone.stop_token_ids


def test_layout_left_pads_prompts_and_right_pads_answers(backbone):
    inputs = backbone.encode(QUESTIONS, _images(), ANSWERS)
    prompt_length = inputs["prompt_length"]
    attention = inputs["attention_mask"].bool()
    assert attention[:, prompt_length - 1].all(), "every prompt must end at the same column"
    assert not inputs["answer_mask"][:, :prompt_length].any()
    answer = inputs["answer_mask"][:, prompt_length:]
    assert torch.equal(answer, attention[:, prompt_length:])
    # right padding: once an answer ends, it stays ended
    assert not (answer[:, 1:] & ~answer[:, :-1]).any()


def test_batched_answer_logprobs_equal_single_ones(backbone):
    images = _images()
    with torch.no_grad():
        batched = backbone.answer_logprobs(backbone.encode(QUESTIONS, images, ANSWERS))
        for row in range(len(QUESTIONS)):
            single = backbone.answer_logprobs(backbone.encode([QUESTIONS[row]], [images[row]], [ANSWERS[row]]))
            width = single.shape[1]
            torch.testing.assert_close(batched[row, :width], single[0], atol=1e-4, rtol=1e-4)
            assert (batched[row, width:] == 0).all()


def test_batched_greedy_generation_equals_single(backbone):
    images = _images()
    batched = backbone.generate(backbone.encode(QUESTIONS, images), max_new_tokens=6)
    for row in range(len(QUESTIONS)):
        single = backbone.generate(backbone.encode([QUESTIONS[row]], [images[row]]), max_new_tokens=6)
        assert batched.texts[row] == single.texts[0]
    assert batched.lengths.max() <= 6
    full = batched.inputs
    assert full["input_ids"].shape[1] == full["prompt_length"] + batched.lengths.max()


def test_sampling_is_seeded_and_scores_its_own_rollout(backbone):
    prompts = backbone.encode(QUESTIONS, _images())
    torch.manual_seed(1)
    first = backbone.generate(prompts, do_sample=True, temperature=1.0, top_p=0.9, max_new_tokens=5)
    torch.manual_seed(1)
    again = backbone.generate(prompts, do_sample=True, temperature=1.0, top_p=0.9, max_new_tokens=5)
    assert first.texts == again.texts
    with torch.no_grad():
        outputs = backbone(first.inputs, hidden=True)
    assert outputs.hidden.shape[:2] == outputs.tokens.shape
    assert outputs.logits.shape[:2] == outputs.tokens.shape
    assert torch.equal(outputs.mask.sum(-1), first.lengths)


def test_text_only_questions_get_the_blank_image(backbone):
    blank = backbone.blank_image()
    assert blank.getextrema() == ((255, 255), (255, 255), (255, 255))
    with torch.no_grad():
        implicit = backbone.answer_logprobs(backbone.encode(QUESTIONS[1:2], [None], ANSWERS[1:2]))
        explicit = backbone.answer_logprobs(backbone.encode(QUESTIONS[1:2], [blank], ANSWERS[1:2]))
    torch.testing.assert_close(implicit, explicit)


@pytest.mark.slow
def test_one_lora_step_trains_adapters_only_and_keeps_the_reference(backbone, tmp_path):
    lora = LoraSettings(r=4, alpha=8, dropout=0.0, target_modules=None)
    fresh = _fresh_copy(backbone)
    inputs = fresh.encode(QUESTIONS, _images(), ANSWERS)
    with torch.no_grad():
        before = fresh.answer_logprobs(inputs)
    add_lora(fresh, lora)
    base_weights = {n: p.detach().clone() for n, p in fresh.model.named_parameters() if not p.requires_grad}
    trainable = [p for p in fresh.model.parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n, p in fresh.model.named_parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW(trainable, lr=1e-2)
    for _ in range(3):
        loss = -fresh.answer_logprobs(inputs).sum() / inputs["answer_mask"].sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = fresh.answer_logprobs(inputs)
        with fresh.reference():
            reference = fresh.answer_logprobs(inputs)
    assert after.sum() > before.sum(), "training on the answers must make them likelier"
    torch.testing.assert_close(reference, before, atol=1e-5, rtol=1e-5)
    for name, param in fresh.model.named_parameters():
        if name in base_weights:
            assert torch.equal(param, base_weights[name]), name

    fresh.model.save_pretrained(tmp_path / "adapter")
    reloaded = _fresh_copy(backbone)
    load_adapter(reloaded, tmp_path / "adapter")
    with torch.no_grad():
        torch.testing.assert_close(reloaded.answer_logprobs(inputs), after, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_save_and_load_pretrained_round_trip(backbone, tmp_path):
    backbone.save_pretrained(tmp_path)
    assert list(tmp_path.glob("*.safetensors"))
    loaded = type(backbone).from_pretrained(tmp_path, blank_image_size=backbone.blank_image_size)
    inputs = backbone.encode(QUESTIONS, _images(), ANSWERS)
    again = loaded.encode(QUESTIONS, _images(), ANSWERS)
    assert torch.equal(inputs["input_ids"], again["input_ids"])
    with torch.no_grad():
        torch.testing.assert_close(loaded.answer_logprobs(again), backbone.answer_logprobs(inputs))


def test_mask_after_stop_keeps_the_stop_token_and_nothing_after():
    tokens = torch.tensor([[5, 6, 2, 7, 2], [5, 5, 5, 5, 5], [2, 9, 9, 9, 9]])
    mask, finished = mask_after_stop(tokens, [2])
    assert mask.tolist() == [
        [True, True, True, False, False],
        [True, True, True, True, True],
        [True, False, False, False, False],
    ]
    assert finished.tolist() == [True, False, True]


def test_unknown_family_is_a_clear_error():
    with pytest.raises(ValueError, match="model.family"):
        resolve_family("nope")
    with pytest.raises(ValueError, match="not a VLMBackbone"):
        resolve_family("torch.nn:Linear")


def test_adapter_that_does_not_exist_is_a_clear_error(backbone, tmp_path):
    with pytest.raises(FileNotFoundError, match="model.adapter"):
        load_adapter(_fresh_copy(backbone), tmp_path / "missing")


def _fresh_copy(backbone: VLMBackbone) -> VLMBackbone:
    import copy

    return type(backbone)(copy.deepcopy(backbone.model), backbone.processor, blank_image_size=backbone.blank_image_size)


def test_selected_rows_score_as_they_did_in_the_whole_batch(backbone):
    inputs = backbone.encode(QUESTIONS, _images(), ANSWERS)
    rows = torch.tensor([2, 0])
    with torch.no_grad():
        whole = backbone.answer_logprobs(inputs)
        part = backbone.answer_logprobs(backbone.select_rows(inputs, rows))
    torch.testing.assert_close(part, whole[rows], atol=1e-5, rtol=1e-5)
    assert backbone.hidden_size > 0


def test_answers_never_contain_special_tokens_but_the_stop(backbone):
    image_id = backbone.tokenizer.convert_tokens_to_ids(backbone.processor.image_token)
    assert image_id in backbone.suppressed_token_ids
    assert not set(backbone.stop_token_ids) & set(backbone.suppressed_token_ids)

    def favour_the_image_token(module, args, logits):
        logits[..., image_id] += 1000.0
        return logits

    hook = backbone.model.get_output_embeddings().register_forward_hook(favour_the_image_token)
    try:
        sampled = backbone.generate(backbone.encode(QUESTIONS, _images()), max_new_tokens=4)
    finally:
        hook.remove()
    start = sampled.inputs["prompt_length"]
    answers = sampled.inputs["input_ids"][:, start:][sampled.inputs["answer_mask"][:, start:]]
    assert answers.numel() and image_id not in answers.tolist()


def test_a_model_path_relative_to_the_repository_resolves_from_anywhere(tmp_path, monkeypatch):
    from unsafe_vlm.paths import REPO_DIR, shipped_or_given

    monkeypatch.chdir(tmp_path)
    assert shipped_or_given("conf/model") == str(REPO_DIR / "conf" / "model")
    assert shipped_or_given("llava-hf/llava-1.5-7b-hf") == "llava-hf/llava-1.5-7b-hf"
