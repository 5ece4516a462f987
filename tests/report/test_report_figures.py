"""Value labels of the bar figures sit past the end of each error bar, so no line crosses the digits."""

from __future__ import annotations

from unsafe_vlm.report.figures import bar_figure, label_bars


def test_a_label_starts_past_its_error_bar_on_either_side_of_zero():
    _, axes = bar_figure(2)
    label_bars(axes, [0, 1], [51.7, -21.7], text=lambda v: f"{v:.1f}", reach=[(6.0, 8.0), (8.0, 9.0)])
    positive, negative = axes.texts
    assert positive.get_text() == "51.7" and positive.get_position()[0] > 51.7 + 8.0
    assert positive.get_horizontalalignment() == "left"
    assert negative.get_text() == "-21.7" and negative.get_position()[0] < -21.7 - 8.0
    assert negative.get_horizontalalignment() == "right"


def test_without_error_bars_a_label_sits_just_past_the_bar():
    _, axes = bar_figure(1)
    label_bars(axes, [0], [40.0], text=str)
    assert axes.texts[0].get_position()[0] == 41.0
