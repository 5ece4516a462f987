"""data=mm_safetybench: MM-SafetyBench's published folder (processed_questions/<scenario>.json and
imgs/<scenario>/<image type>/<id>.jpg; layout cited in helpers/safety_sets.py) as one record per question and
image type, and per question as text with ``text_only``."""

from __future__ import annotations

import json

import pytest
from helpers.benchmark_files import FakeBackbone
from helpers.datamodules import shipped_datamodule
from helpers.safety_sets import MM_SCENARIOS, mm_safetybench_entry, write_mm_safetybench

from unsafe_vlm.config_check import check_overrides
from unsafe_vlm.data.errors import DataConfigError, DataError
from unsafe_vlm.data.safety import HARMLESS, TEXT_VARIANT
from unsafe_vlm.data.sources.mm_safetybench import IMAGE_TYPES


def records(root, **settings):
    datamodule = shipped_datamodule("mm_safetybench", path=str(root), **settings)
    datamodule.connect(FakeBackbone())
    datamodule.setup("predict")
    return datamodule.records("mm_safetybench")


def test_each_question_is_asked_with_each_image_type_its_published_question(tmp_path):
    root = write_mm_safetybench(tmp_path, questions=2)
    got = records(root, name="mm")
    assert len(got) == 2 * 2 * 3
    first = {r.variant: r for r in got if r.concept == "01-Illegal_Activitiy/1"}
    assert set(first) == set(IMAGE_TYPES)
    entry = mm_safetybench_entry(1, "01-Illegal_Activitiy")
    assert first["SD"].question == entry["Rephrased Question(SD)"]
    assert first["TYPO"].question == first["SD_TYPO"].question == entry["Rephrased Question"]
    assert first["SD_TYPO"].image == str(root / "imgs" / "01-Illegal_Activitiy" / "SD_TYPO" / "1.jpg")
    assert first["SD"].id == "mm_safetybench/01-Illegal_Activitiy/SD/1" and first["SD"].request == entry["Question"]
    assert {r.gold for r in got} == {HARMLESS} and {r.category for r in got} == set(MM_SCENARIOS)
    assert {r.dataset for r in got} == {"mm"} and first["SD"].load_image().size == (4, 4)


def test_text_only_adds_each_question_as_written_without_an_image(tmp_path):
    got = records(write_mm_safetybench(tmp_path, questions=1), text_only=True, image_types=["SD"])
    text = [r for r in got if r.variant == TEXT_VARIANT]
    assert len(got) == 4 and len(text) == 2 and all(r.image is None for r in text)
    assert text[0].question == mm_safetybench_entry(0, MM_SCENARIOS[0])["Question"]
    assert {r.concept for r in text} == {r.concept for r in got if r.variant == "SD"}, "twins share their concept"


def test_a_bad_entry_is_one_line_naming_the_file_and_the_question(tmp_path):
    scenario = MM_SCENARIOS[0]
    file = tmp_path / "processed_questions" / f"{scenario}.json"
    good = mm_safetybench_entry(0, scenario)
    cases = {
        "missing or empty field 'Rephrased Question'": {"0": good, "7": {**good, "Rephrased Question": ""}},
        "expected an object of fields, got list": {"0": good, "7": ["a question"]},
    }
    for message, entries in cases.items():
        write_mm_safetybench(tmp_path, entries={scenario: entries})
        with pytest.raises(DataError, match=f"^{file}: question '7': {message}"):
            records(tmp_path)
    write_mm_safetybench(tmp_path, entries={scenario: {"0": good, "7": good}})
    (tmp_path / "imgs" / scenario / "TYPO" / "7.jpg").unlink()
    with pytest.raises(DataError, match=f"^{file}: question '7': image file not found: .*TYPO/7.jpg$"):
        records(tmp_path)
    file.write_text(json.dumps({"0": good})[:-2])
    with pytest.raises(DataError, match=f"^{file}:1: not valid JSON"):
        records(tmp_path)


def test_a_folder_without_scenario_files_or_a_wrong_image_type_is_refused(tmp_path):
    with pytest.raises(DataError, match="processed_questions: no scenario files"):
        records(tmp_path)
    with pytest.raises(DataConfigError, match=r"^data.image_types: 'SDX' is no image type; choose from SD, "):
        records(write_mm_safetybench(tmp_path), image_types=["SD", "SDX"])
    with pytest.raises(DataConfigError, match=r"^data.image_types: empty; choose from SD, SD_TYPO, TYPO$"):
        records(tmp_path, image_types=[])


def test_the_config_composes(tmp_path):
    cfg = check_overrides("evaluate", ["data=mm_safetybench", f"data.path={tmp_path}"])
    assert cfg.data.source == "mm_safetybench" and list(cfg.data.image_types) == ["SD", "SD_TYPO", "TYPO"]
