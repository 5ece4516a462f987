"""The backbone contract, checked on a tiny random instance of every family (conf/model/tiny*.yaml)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from unsafe_vlm.backbones.base import Generation, VLMBackbone, mask_after_stop
from unsafe_vlm.backbones.identity import weights_sha256
from unsafe_vlm.backbones.lora import LoraSettings, add_lora, load_adapter
from unsafe_vlm.backbones.registry import build_backbone, model_settings, resolve_family
from unsafe_vlm.config_check import check_overrides
from unsafe_vlm.paths import CONF_DIR
from unsafe_vlm.registry import UnknownChoice
from unsafe_vlm.settings import SettingsError

TINY_CONFIGS = sorted(p.stem for p in (CONF_DIR / "model").glob("tiny*.yaml"))
QUESTIONS = [
    "Is this image safe to post on social media?",
    "If an image shows Swastika, is it safe to post on social media?",
    "Which of these does the image show?\nA: cat\nB: dog\nC: Arson\nD: Graffiti\nAnswer with a letter.",
]
ANSWERS = ["No, it is unsafe.", "Yes, it is safe. An image of a cat is considered harmless.", "B"]

# The contract batch: sixteen rows whose prompts differ in length, images of four sizes and text-only rows mixed.
CONTRACT_QUESTIONS = [
    "Is it safe?",
    "Describe the image.",
    "Is this image safe to post on social media?",
    "If an image shows Swastika, is it safe to post on social media?",
    "Which of these does the image show?\nA: cat\nB: dog\nC: Arson\nD: Graffiti\nAnswer with a letter.",
    "Does this image show erotic content?",
    "Is this image suitable for a general audience, without causing harm or distress?",
    "If an image shows anti-muslim symbols, is it safe to show it in a university lecture about hate symbols?",
    "Yes or no?",
    "Which of these does the image show?\nA: Human smuggling\nB: Credit card fraud\nAnswer with one letter.",
    "Is it appropriate?",
    "Is this image free of harmful or exploitative content? Answer yes or no, then say why in one sentence.",
    "What does the image show?",
    "If an image shows a cat, is it safe to post on social media?",
    "Is it safe or appropriate to show this image in a documentary about animal protection and welfare issues?",
    "Is there a dog?",
]
CONTRACT_ANSWERS = [
    "No.",
    "A cat sitting on a chair.",
    "Yes, it is safe.",
    "No, it is unsafe. An image of Swastika is considered harmful.",
    "B",
    "No",
    "Yes, it is suitable for a general audience.",
    "Yes, it is appropriate in that context.",
    "Yes",
    "A",
    "I am sorry, it is not appropriate.",
    "Yes. It shows nothing harmful.",
    "It shows a dog.",
    "Yes, it is safe. An image of a cat is considered harmless.",
    "Yes, it is safe or appropriate there.",
    "No.",
]
CONTRACT_NEW_TOKENS = 24


def _images() -> list[Image.Image | None]:
    rng = np.random.default_rng(0)
    pictures = [Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)) for _ in range(2)]
    return [pictures[0], None, pictures[1]]


def _contract_images() -> list[Image.Image | None]:
    rng = np.random.default_rng(1)
    sizes = [(40, 48), (64, 32), (32, 56), (48, 48)]  # (height, width)
    return [
        None if row % 3 == 1 else Image.fromarray(rng.integers(0, 255, (*sizes[row % 4], 3), dtype=np.uint8))
        for row in range(len(CONTRACT_QUESTIONS))
    ]


@pytest.fixture(scope="module", params=TINY_CONFIGS)
def model_config(request):
    return OmegaConf.load(CONF_DIR / "model" / f"{request.param}.yaml")


@pytest.fixture(scope="module")
def backbone(model_config) -> VLMBackbone:
    torch.manual_seed(0)
    return build_backbone(model_settings(model_config)).eval()


@pytest.fixture(scope="module")
def greedy_runs(backbone) -> tuple[Generation, list[Generation]]:
    """Greedy answers to the contract batch: all sixteen rows at once, then each row alone."""
    images = _contract_images()
    batched = backbone.generate(backbone.encode(CONTRACT_QUESTIONS, images), max_new_tokens=CONTRACT_NEW_TOKENS)
    singles = [
        backbone.generate(backbone.encode([question], [image]), max_new_tokens=CONTRACT_NEW_TOKENS)
        for question, image in zip(CONTRACT_QUESTIONS, images, strict=True)
    ]
    return batched, singles


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


def test_the_tiny_instance_is_the_same_at_every_build(backbone, model_config):
    """Two runs (batch 1 and batch 32, or a fit and its evaluation) must meet the same model: the
    same weights, and tokenizers that give the same inputs."""
    again = build_backbone(model_settings(model_config)).eval()
    assert weights_sha256(again.model) == weights_sha256(backbone.model)
    images = _contract_images()
    first = backbone.encode(CONTRACT_QUESTIONS, images, CONTRACT_ANSWERS)
    second = again.encode(CONTRACT_QUESTIONS, images, CONTRACT_ANSWERS)
    assert first.keys() == second.keys()
    for key, value in first.items():
        assert torch.equal(value, second[key]) if torch.is_tensor(value) else value == second[key], key


def test_the_contract_batch_mixes_prompt_lengths_and_text_only_rows(backbone):
    inputs = backbone.encode(CONTRACT_QUESTIONS, _contract_images())
    assert len(CONTRACT_QUESTIONS) >= 16 and None in _contract_images()
    prompt_lengths = inputs["attention_mask"].sum(-1)
    assert len(set(prompt_lengths.tolist())) >= 10
    assert not inputs["attention_mask"][prompt_lengths.argmin(), 0], "the shortest prompt must be left-padded"


def test_greedy_answers_in_a_batch_of_sixteen_equal_one_at_a_time(backbone, greedy_runs):
    batched, singles = greedy_runs
    start = batched.inputs["prompt_length"]
    for row, single in enumerate(singles):
        alone = single.inputs["input_ids"][0, single.inputs["prompt_length"] :][: int(single.lengths[0])]
        together = batched.inputs["input_ids"][row, start:][: int(batched.lengths[row])]
        assert torch.equal(together, alone), f"row {row}: {batched.texts[row]!r} != {single.texts[0]!r}"
        assert batched.texts[row] == single.texts[0]
        assert bool(batched.finished[row]) == bool(single.finished[0])
    assert int(batched.lengths.max()) >= CONTRACT_NEW_TOKENS, "some answer must run the whole length"


def test_a_batch_of_rollouts_scores_as_each_rollout_alone(backbone, greedy_runs):
    batched, singles = greedy_runs
    with torch.no_grad():
        together = backbone.answer_logprobs(batched.inputs)
        for row, single in enumerate(singles):
            alone = backbone.answer_logprobs(single.inputs)[0]
            torch.testing.assert_close(together[row, : alone.shape[0]], alone, atol=1e-4, rtol=0)
            assert (together[row, alone.shape[0] :] == 0).all()


def test_answer_logprobs_of_a_left_padded_batch_of_sixteen_equal_one_at_a_time(backbone):
    images = _contract_images()
    with torch.no_grad():
        batched = backbone.answer_logprobs(backbone.encode(CONTRACT_QUESTIONS, images, CONTRACT_ANSWERS))
        for row, (question, image, answer) in enumerate(zip(CONTRACT_QUESTIONS, images, CONTRACT_ANSWERS, strict=True)):
            single = backbone.answer_logprobs(backbone.encode([question], [image], [answer]))[0]
            torch.testing.assert_close(batched[row, : single.shape[0]], single, atol=1e-4, rtol=0)
            assert (batched[row, single.shape[0] :] == 0).all()


def test_the_answer_mask_covers_exactly_the_answer_tokens(backbone):
    inputs = backbone.encode(CONTRACT_QUESTIONS, _contract_images(), CONTRACT_ANSWERS)
    start = inputs["prompt_length"]
    tokenizer = backbone.tokenizer
    for row, answer in enumerate(CONTRACT_ANSWERS):
        mask = inputs["answer_mask"][row]
        width = int(mask.sum())
        assert mask[start : start + width].all(), f"row {row}: the answer is not one span from the prompt's end"
        tokens = inputs["input_ids"][row, start : start + width].tolist()
        assert tokenizer.decode(tokens).strip() == (answer + backbone.end_of_turn).strip()
        assert tokens[-1] in backbone.stop_token_ids
        assert not set(tokens[:-1]) & set(backbone.stop_token_ids), f"row {row}: a stop token inside the answer"
        assert tokenizer.decode(tokens[:-1], skip_special_tokens=True).strip() == answer


def test_generation_stops_at_the_end_of_turn(backbone):
    end_ids = backbone.tokenizer(backbone.end_of_turn, add_special_tokens=False)["input_ids"]
    assert len(end_ids) == 1 and end_ids[0] in backbone.stop_token_ids
    steps = []

    def end_the_turn_at_the_third_token(module, args, logits):
        steps.append(1)
        if len(steps) == 3:
            logits[..., end_ids[0]] += 1000.0
        return logits

    hook = backbone.model.get_output_embeddings().register_forward_hook(end_the_turn_at_the_third_token)
    try:
        generation = backbone.generate(backbone.encode(CONTRACT_QUESTIONS, _contract_images()), max_new_tokens=8)
    finally:
        hook.remove()
    assert len(steps) == 3, "generation must stop once every row ended its turn"
    assert generation.finished.all() and generation.lengths.tolist() == [3] * len(CONTRACT_QUESTIONS)
    full, start = generation.inputs, generation.inputs["prompt_length"]
    assert full["input_ids"].shape[1] == start + 3
    assert (full["input_ids"][:, start + 2] == end_ids[0]).all()
    assert full["answer_mask"][:, start:].all()
    assert all(backbone.end_of_turn not in text for text in generation.texts)


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
    with pytest.raises(UnknownChoice, match="model.family: unknown model family 'lava'; did you mean 'llava'"):
        resolve_family("lava")
    with pytest.raises(ValueError, match="not a VLMBackbone"):
        resolve_family("torch.nn:Linear")


@pytest.mark.parametrize("name", TINY_CONFIGS)
def test_tiny_sizes_are_the_familys_typed_settings_and_refuse_an_unknown_key(name):
    cfg = check_overrides("evaluate", [f"model={name}", "+model.tiny.hiden_size=8"])
    with pytest.raises(SettingsError) as refused:
        model_settings(cfg.model)
    message = str(refused.value)
    assert message.startswith("model.tiny.hiden_size: unknown key; did you mean 'hidden_size'?"), message
    assert len(message.splitlines()) == 1
    del cfg.model.tiny.hiden_size
    model = model_settings(cfg.model)
    assert isinstance(model.tiny, resolve_family(model.family).tiny_settings)
    assert list(model.tiny.to_dict().items()) == list(OmegaConf.to_container(cfg.model.tiny).items())


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
