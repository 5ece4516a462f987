"""What the benchmarks print: the machine and versions lines, Markdown tables, ratios, memory."""

from __future__ import annotations

import pytest

from bench.memory import current_rss_mib, memory_label, peak_memory_mib, synchronizer
from bench.table import machine_line, markdown_table, ratio, versions_line


def test_markdown_table_aligns_numeric_columns_right():
    table = markdown_table(["side", "samples/s"], [["ours", "12.5"], ["trl", 10]], numeric=[False, True])
    assert table.splitlines() == [
        "| side | samples/s |",
        "| --- | ---: |",
        "| ours | 12.5 |",
        "| trl | 10 |",
    ]


def test_markdown_table_refuses_ragged_rows():
    with pytest.raises(ValueError, match="one entry per column"):
        markdown_table(["a", "b"], [["only one"]], numeric=[False, False])


def test_ratio_is_ours_over_theirs():
    assert ratio(15.0, 10.0) == 1.5
    assert ratio(1.0, 0.0) == float("inf")


def test_machine_and_versions_lines_name_what_a_reader_needs():
    machine = machine_line("cpu", 1)
    assert machine.startswith("machine: ") and "threads 1" in machine and "load average" in machine
    assert "torch default" in machine_line("cpu", None)
    versions = versions_line()
    assert versions.startswith("versions: python ") and "torch " in versions and "transformers " in versions
    assert "not-a-package" not in versions_line(("not-a-package",))


def test_cpu_memory_is_resident_set_size():
    assert memory_label("cpu") == "peak RSS"
    assert peak_memory_mib("cpu") >= current_rss_mib() > 0
    assert synchronizer("cpu") is None
