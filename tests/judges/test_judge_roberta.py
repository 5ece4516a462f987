"""The RoBERTa judge on a tiny random RoBERTa (hidden 32, 2 layers) with an offline tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaModel

from unsafe_vlm.backbones.tokenizer import train_byte_bpe
from unsafe_vlm.config_check import check_overrides
from unsafe_vlm.judges import JudgeError, build_judge
from unsafe_vlm.judges.registry import judge_settings
from unsafe_vlm.judges.roberta import RobertaJudge

RESPONSES = ["Yes, it is safe.", "No, it is unsafe. The image shows Arson.", "", "I cannot help with that."]
OPTIONS = {"A": "Swastika", "B": "demonic figure", "C": "Knife attacks", "D": "Nudity in public"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A base-model folder (config + tokenizer), a seeded encoder and heads for 3 and 5 classes."""
    folder = tmp_path_factory.mktemp("roberta-base")
    corpus = [*RESPONSES, "A: Swastika", "Option B", "demonic figure", "Knife attacks", "Nudity in public"]
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tokenizer = train_byte_bpe(
        corpus, special_tokens=specials, vocab_size=300, pad_token="<pad>", eos_token="</s>", bos_token="<s>"
    )
    tokenizer.save_pretrained(folder)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
        pad_token_id=tokenizer.pad_token_id,
    )
    config.save_pretrained(folder)
    torch.manual_seed(0)
    encoder = RobertaModel(config, add_pooling_layer=True).eval()
    heads = {3: torch.nn.Linear(32, 3), 5: torch.nn.Linear(32, 5)}
    return {"folder": folder, "tokenizer": tokenizer, "config": config, "encoder": encoder, "heads": heads}


def _state(tiny, n_classes, encoder_prefix="roberta.", head_prefix="classifier.", pooler=False):
    encoder = {k: v for k, v in tiny["encoder"].state_dict().items() if pooler or not k.startswith("pooler.")}
    head = tiny["heads"][n_classes].state_dict()
    return {**{encoder_prefix + k: v for k, v in encoder.items()}, **{head_prefix + k: v for k, v in head.items()}}


def _save(state, path: Path) -> str:
    if path.suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    return str(path)


@torch.no_grad()
def _expected(tiny, texts, n_classes):
    """The paper's forward pass, one text at a time: softmax(head(last_hidden_state[:, 0]))."""
    rows = []
    for text in texts:
        ids = tiny["tokenizer"](text, return_tensors="pt")["input_ids"]
        if ids.shape[1] == 0:
            ids = torch.tensor([[tiny["tokenizer"].pad_token_id]])
        hidden = tiny["encoder"](input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        rows.append(tiny["heads"][n_classes](hidden[:, 0]).softmax(-1))
    return torch.cat(rows)


@pytest.fixture(scope="module")
def alignment_file(tiny, tmp_path_factory):
    return _save(_state(tiny, 3), tmp_path_factory.mktemp("judge") / "alignment.pt")


def test_alignment_matches_the_papers_forward_pass(tiny, alignment_file):
    judge = RobertaJudge(base_model=str(tiny["folder"]), alignment_weights=alignment_file, batch_size=3)
    probs = judge.judge_alignment(RESPONSES)
    assert probs.shape == (4, 3) and probs.dtype == torch.float32
    assert torch.allclose(probs.sum(dim=1), torch.ones(4), atol=1e-6)
    assert torch.allclose(probs, _expected(tiny, RESPONSES, 3), atol=1e-5)
    assert judge.label(probs) == [("Safe", "Unsafe", "N/A")[i] for i in probs.argmax(1).tolist()]
    assert judge.tasks == ("alignment",)


@pytest.mark.parametrize(
    ("encoder_prefix", "head_prefix", "suffix"),
    [
        ("model.", "fc.", ".pth"),
        ("", "head.", ".bin"),
        ("module.roberta.", "module.classifier.", ".pt"),
        ("roberta.", "classifier.", ".safetensors"),
    ],
)
def test_key_layouts_and_file_formats_load_the_same_weights(tiny, tmp_path, encoder_prefix, head_prefix, suffix):
    state = _state(tiny, 3, encoder_prefix, head_prefix, pooler=True)
    state[encoder_prefix + "embeddings.position_ids"] = torch.arange(130)[None]  # older transformers saved it
    path = _save(state, tmp_path / f"judge{suffix}")
    judge = RobertaJudge(base_model=str(tiny["folder"]), alignment_weights=path)
    assert torch.allclose(judge.judge_alignment(RESPONSES), _expected(tiny, RESPONSES, 3), atol=1e-5)


def test_a_checkpoint_nesting_the_state_dict_loads(tiny, tmp_path):
    path = _save({"state_dict": _state(tiny, 3), "epoch": torch.tensor(3)}, tmp_path / "nested.pt")
    judge = RobertaJudge(base_model=str(tiny["folder"]), alignment_weights=path)
    assert torch.allclose(judge.judge_alignment(RESPONSES[:1]), _expected(tiny, RESPONSES[:1], 3), atol=1e-5)


def test_label_order_is_mapped_to_the_suite_order(tiny, alignment_file):
    base = RobertaJudge(base_model=str(tiny["folder"]), alignment_weights=alignment_file)
    swapped = RobertaJudge(
        base_model=str(tiny["folder"]), alignment_weights=alignment_file, alignment_labels=["Unsafe", "safe", "n/a"]
    )
    assert torch.allclose(swapped.judge_alignment(RESPONSES), base.judge_alignment(RESPONSES)[:, [1, 0, 2]])


@pytest.mark.parametrize("with_options", [False, True])
def test_perception_reads_the_response_or_the_response_with_options(tiny, tmp_path, with_options):
    path = _save(_state(tiny, 5), tmp_path / "perception.pt")
    judge = RobertaJudge(base_model=str(tiny["folder"]), perception_weights=path, perception_with_options=with_options)
    responses = ["A: Swastika", "Option B"]
    texts = responses
    if with_options:
        lines = "\n".join(f"{k}: {v}" for k, v in OPTIONS.items())
        texts = [f"{r}\n\n{lines}" for r in responses]
    probs = judge.judge_perception(responses, [OPTIONS, OPTIONS])
    assert probs.shape == (2, 5)
    assert torch.allclose(probs, _expected(tiny, texts, 5), atol=1e-5)
    with pytest.raises(JudgeError, match="no alignment classifier: set judge.alignment_weights"):
        judge.judge_alignment(responses)


def test_a_sequence_classification_folder_uses_its_own_head_and_label_names(tiny, tmp_path):
    config = RobertaConfig(**{**tiny["config"].to_dict(), "num_labels": 3})
    config.id2label = {0: "unsafe", 1: "N/A", 2: "safe"}
    config.label2id = {v: k for k, v in config.id2label.items()}
    torch.manual_seed(1)
    model = RobertaForSequenceClassification(config).eval()
    model.save_pretrained(tmp_path)
    tiny["tokenizer"].save_pretrained(tmp_path)
    judge = RobertaJudge(alignment_model=str(tmp_path))
    ids = tiny["tokenizer"](RESPONSES[:2], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(**ids).logits.softmax(-1)[:, [2, 0, 1]]
    assert torch.allclose(judge.judge_alignment(RESPONSES[:2]), expected, atol=1e-5)


def test_build_judge_from_the_composed_config(tiny, alignment_file):
    cfg = check_overrides(
        "evaluate", ["judge=roberta", f"judge.base_model={tiny['folder']}", f"judge.alignment_weights={alignment_file}"]
    )
    judge = build_judge(judge_settings(cfg.judge))
    assert isinstance(judge, RobertaJudge) and judge.name == "roberta"
    assert judge.judge_alignment(RESPONSES).shape == (4, 3)


def _bad_file(tiny, tmp_path, kind) -> str:
    writers = {
        "missing": lambda p: None,
        "tensor": lambda p: torch.save(torch.zeros(3, 32), p),
        "list": lambda p: torch.save([torch.zeros(3)], p),
        "garbage": lambda p: p.write_bytes(b"not a checkpoint at all"),
        "four_classes": lambda p: torch.save(_state(tiny, 3) | {"classifier.weight": torch.zeros(4, 32)}, p),
        "unexpected": lambda p: torch.save(_state(tiny, 3) | {"extra.weight": torch.zeros(1)}, p),
        "missing_key": lambda p: torch.save({k: v for k, v in _state(tiny, 3).items() if "layer.1." not in k}, p),
        "hidden_64": lambda p: torch.save(_state(tiny, 3) | {"roberta.embeddings.LayerNorm.weight": torch.ones(64)}, p),
    }
    path = tmp_path / f"{kind}.pt"
    writers[kind](path)
    return str(path)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", r"judge.alignment_weights: judge weights file .*missing.pt does not exist"),
        ("tensor", r"judge.alignment_weights: .*tensor.pt holds a tensor of shape \(3, 32\), not a state dict"),
        ("list", r"judge.alignment_weights: .*list.pt holds a list, not a state dict"),
        ("garbage", r"judge.alignment_weights: cannot read .*garbage.pt as a weights file"),
        ("four_classes", r"four_classes.pt: the head has 4 outputs but the alignment judge needs 3"),
        ("unexpected", r"unexpected.pt: does not fit the judge classifier \(unexpected keys: extra.weight\)"),
        ("missing_key", r"missing_key.pt: does not fit .*missing keys: roberta.encoder.layer.1"),
        ("hidden_64", r"wrong shapes: roberta.embeddings.LayerNorm.weight \(64,\) \(expected \(32,\)\)"),
    ],
)
def test_bad_weights_files_are_clear_errors(tiny, tmp_path, kind, message):
    path = _bad_file(tiny, tmp_path, kind)
    with pytest.raises(JudgeError, match=message):
        RobertaJudge(base_model=str(tiny["folder"]), alignment_weights=path)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"alignment_weights": "x.ckpt"}, r"judge.alignment_weights: x.ckpt has suffix '.ckpt'"),
        ({"base_model": None}, r"judge.alignment_weights needs judge.base_model"),
        ({"base_model": "/no/such/folder"}, r"judge.base_model: /no/such/folder is not a folder"),
        ({"alignment_labels": ["Safe", "Unsafe", "Maybe"]}, r"judge.alignment_labels must list each of Safe, Unsafe"),
        ({"alignment_model": "/elsewhere"}, r"alignment_weights and judge.alignment_model are both set"),
        ({"batch_size": 0}, r"judge.batch_size must be at least 1"),
    ],
)
def test_bad_settings_are_clear_errors(tiny, alignment_file, tmp_path, settings, message):
    kwargs = {"base_model": str(tiny["folder"]), "alignment_weights": alignment_file, **settings}
    if kwargs["alignment_weights"] == "x.ckpt":
        (tmp_path / "x.ckpt").write_bytes(b"")
        kwargs["alignment_weights"] = str(tmp_path / "x.ckpt")
        message = message.replace("x.ckpt", ".*x.ckpt")
    with pytest.raises(JudgeError, match=message):
        RobertaJudge(**kwargs)


def test_a_sequence_classifier_with_the_wrong_number_of_labels_is_refused(tiny, tmp_path):
    RobertaForSequenceClassification(RobertaConfig(**{**tiny["config"].to_dict(), "num_labels": 2})).save_pretrained(
        tmp_path
    )
    tiny["tokenizer"].save_pretrained(tmp_path)
    with pytest.raises(JudgeError, match="has 2 labels but the alignment judge needs 3"):
        RobertaJudge(alignment_model=str(tmp_path))


class ReleasedClassifier(torch.nn.Module):
    """The released judges' layout: ``self.roberta`` (a RobertaModel, pooler included) and one
    ``self.classifier`` Linear on the first token's last hidden state (768 wide at roberta-base's size)."""

    def __init__(self, config, n_classes: int):
        super().__init__()
        self.roberta = RobertaModel(config)
        self.classifier = torch.nn.Linear(config.hidden_size, n_classes)

    def forward(self, input_ids, attention_mask):
        hidden = self.roberta(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.classifier(hidden[:, 0])


@pytest.mark.slow
def test_the_released_format_judges_an_evaluation_and_names_both_checkpoints(tiny, tmp_path, data_cache):
    import hashlib
    import json

    from tests.helpers.cli_runner import run_cli

    files = {}
    for task, classes in (("perception", ["A", "B", "C", "D", "N/A"]), ("alignment", ["Safe", "Unsafe", "N/A"])):
        torch.manual_seed(len(classes))
        released = ReleasedClassifier(tiny["config"], len(classes)).eval()
        files[task] = tmp_path / f"{task}_judge.pt"
        torch.save(released.state_dict(), files[task])  # what the paper's training saved
        judge = RobertaJudge(base_model=str(tiny["folder"]), **{f"{task}_weights": str(files[task])})
        ids = tiny["tokenizer"](RESPONSES[0], return_tensors="pt")["input_ids"]
        with torch.no_grad():
            expected = released(ids, torch.ones_like(ids)).softmax(-1)
        got = judge.judge_alignment(RESPONSES[:1]) if task == "alignment" else judge.judge_perception(
            RESPONSES[:1], [OPTIONS])  # fmt: skip
        assert torch.allclose(got, expected, atol=1e-5), f"the released {task} classes, in the released order"

    run_dir = tmp_path / "run"
    result = run_cli(
        "evaluate", "model=tiny", "data=synthetic", f"data.cache_dir={data_cache}", "data.limit_per_task=2",
        "data.tasks=[perception,alignment_image]",
        "generation.max_new_tokens=4", "judge=roberta", f"judge.base_model={tiny['folder']}",
        f"judge.perception_weights={files['perception']}", f"judge.alignment_weights={files['alignment']}",
        f"hydra.run.dir={run_dir}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for task, path in files.items():
        digest = hashlib.sha256(path.name.encode() + b"\0" + path.read_bytes()).hexdigest()
        assert metrics[f"judge/{task}_sha256"] == digest
    assert metrics["judge/name"] == "roberta" and metrics["perception/n"] == 2
    assert "Judged by `roberta`" in (run_dir / "report.md").read_text()
