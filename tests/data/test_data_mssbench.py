"""data=mssbench: MSSBench's folder (one query in a safe and in an unsafe situation), read as published."""

from __future__ import annotations

import re

import pytest
from helpers.benchmark_files import FakeBackbone
from helpers.datamodules import shipped_datamodule
from helpers.mssbench_files import chat_row, embodied_row, write_mssbench

from unsafe_vlm.data.errors import DataConfigError, DataError
from unsafe_vlm.data.safety import safety_records
from unsafe_vlm.data.sources.mssbench import CHAT_PROMPT, EMBODIED_PROMPT, read_mssbench


def mssbench_records(samples, name):
    return safety_records(samples, "mssbench", name)


def test_each_chat_query_is_asked_in_both_situations_and_each_embodied_pair_once_each(tmp_path):
    root = write_mssbench(tmp_path / "mss", chat=2, embodied=1)
    records = mssbench_records(read_mssbench(root), "mssbench")
    assert [r.id for r in records] == [
        *(f"mssbench/chat/{n}/{j}/{side}" for n in range(2) for j in range(2) for side in ("safe", "unsafe")),
        "mssbench/embodied/0/0/safe", "mssbench/embodied/0/0/unsafe",
    ]  # fmt: skip
    assert [r.gold for r in records] == ["Complied", "Refused"] * 5
    assert [r.category for r in records] == ["chat"] * 8 + ["embodied"] * 2
    assert records[0].concept == "self-harm" and records[8].concept == "fire hazard"
    first, second = records[0], records[1]
    assert first.question == second.question == CHAT_PROMPT + "How do I ride faster 0.0?"
    assert first.image == str(root / "chat" / "safe" / "0.png") and second.image == str(root / "chat/unsafe/0.png")
    assert records[8].question == EMBODIED_PROMPT + "Put the bread in the toaster 0.0."
    assert records[9].question == EMBODIED_PROMPT + "Put the fork in the toaster 0.0."
    assert records[9].image == str(root / "embodied" / "unsafe" / "0.png")
    assert records[9].source == f"{root / 'combine.json'}[embodied][0]"


def test_a_scenario_can_be_asked_alone(tmp_path):
    root = write_mssbench(tmp_path / "mss", chat=1, embodied=1)
    assert {s.category for s in read_mssbench(root, ["embodied"])} == {"embodied"}
    assert len(read_mssbench(root, ["chat"])) == 4


@pytest.mark.parametrize(("scenario", "changes", "message"), [
    ("chat", {"queries": []}, "field 'queries' must be a non-empty list of non-empty strings, got []"),
    ("chat", {"unsafe_image_path": None}, "field 'unsafe_image_path' must be a non-empty string, got None"),
    ("chat", {"safe_image_path": "safe/7.png"}, "image file not found: "),
    ("embodied", {"unsafe_instructions": "Put the fork in."}, "field 'unsafe_instructions' must be a non-empty list"),
])  # fmt: skip
def test_a_bad_row_is_one_line_naming_the_file_and_the_row(tmp_path, scenario, changes, message):
    table = {"chat": [chat_row(0), chat_row(1)], "embodied": [embodied_row(0), embodied_row(1)]}
    table[scenario][1] = {**table[scenario][1], **changes}
    root = write_mssbench(tmp_path / "mss", chat=2, embodied=2, table=table)
    where = re.escape(f"{root / 'combine.json'}[{scenario}][1]: ")
    with pytest.raises(DataError, match="^" + where + ".*" + re.escape(message)) as caught:
        read_mssbench(root)
    assert "\n" not in str(caught.value)


def test_a_scenario_missing_from_combine_json_is_named(tmp_path):
    root = write_mssbench(tmp_path / "mss", chat=1, embodied=0, table={"chat": [chat_row(0)]})
    assert len(read_mssbench(root, ["chat"])) == 4
    with pytest.raises(DataError, match=r"combine.json: 'embodied' must be a non-empty list of rows, got None$"):
        read_mssbench(root)


def test_data_mssbench_asks_the_scenarios_its_config_names(tmp_path):
    root = write_mssbench(tmp_path / "mss", chat=1, embodied=1)
    datamodule = shipped_datamodule("mssbench", path=str(root), scenarios=["embodied"])
    datamodule.connect(FakeBackbone())
    datamodule.setup("test")
    assert [r.id for r in datamodule.records()] == ["mssbench/embodied/0/0/safe", "mssbench/embodied/0/0/unsafe"]
    assert len(shipped_datamodule("mssbench", path=str(root)).records()) == 6
    with pytest.raises(DataConfigError, match=r"^data.scenarios: is empty; name one or both of: chat, embodied$"):
        shipped_datamodule("mssbench", path=str(root), scenarios=[])
    with pytest.raises(DataConfigError, match=r"^data.scenarios\[0\]: 'kitchen' is not one of: 'chat', 'embodied'"):
        shipped_datamodule("mssbench", path=str(root), scenarios=["kitchen"])
