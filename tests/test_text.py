"""jitviz.text.visible: the one sanitizer for every text jitviz shows (labels, listings, reports)."""

import pytest

from jitviz.text import visible


@pytest.mark.parametrize("hidden", ["\x00", "\x1b", "\x7f", "\x85", "\u200b", "\u200e", "\u202e", "\u2060",
                                    "\u2066", "\ufeff", "\u2028", "\u2029", "\u061c", "\u180e", "\u3164",
                                    "\u00ad", "\ue000"])
def test_every_invisible_or_control_character_is_shown_as_its_escape(hidden):
    shown = visible(f"code/__torch__{hidden}.py")
    assert hidden not in shown and hidden.encode("unicode_escape").decode("ascii") in shown


@pytest.mark.parametrize("text", ["plain ascii", "tab\tand\nnewline", "中文注释", "é ß ∑ → 😀", "<b>&\"x\"</b>"])
def test_what_a_reader_sees_is_left_alone(text):
    assert visible(text) == text
