"""Text from users' code and strangers' files made safe to print and to put in HTML or DOT.

A name or a result can hold NUL, an ANSI escape (``\\x1b[2J`` clears a terminal), a bidi override
(U+202E turns the rest of a line around) or an invisible character (U+200B, U+FEFF, U+2028, U+061C):
printed raw, they garble or disguise what a learner reads (``code/__torch__\u200b.py`` looks like
``code/__torch__.py``). :func:`visible` is the one sanitizer every output uses.

    visible("a\\x1bb")  # 'a\\\\x1bb': the escape is shown as the four characters \\x1b
"""

from __future__ import annotations

import itertools
import os
import re
import unicodedata

__all__ = ["natural_key", "plural", "short_file", "visible"]

# ASCII's controls except newline and tab, and DEL: the only characters an ASCII text needs checked.
_ASCII_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
# Unicode's controls (Cc), format characters (Cf: bidi marks and overrides, zero-width characters,
# the BOM, U+061C...), line and paragraph separators (Zl, Zp), and the blank "filler" letters that
# draw nothing (Hangul fillers, U+3164, U+FFA0, U+115F, U+1160; the Braille blank U+2800).
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e"}


def visible(text: str) -> str:
    """``text`` with every control, format, separator or invisible character written as its escape
    (``\\x1b``, ``\\u200b``); tab and newline are kept: ``visible("\\x00")``."""
    if text.isascii():
        return _ASCII_CONTROL.sub(_escaped, text)
    return "".join(_escaped_char(char) if _hidden(char) else char for char in text)


def _hidden(char: str) -> bool:
    if char in "\t\n":
        return False
    return unicodedata.category(char) in _HIDDEN_CATEGORIES or char in _BLANK_LETTERS


def _escaped(match: re.Match[str]) -> str:
    return _escaped_char(match.group(0))


def _escaped_char(char: str) -> str:
    return char.encode("unicode_escape").decode("ascii")


def plural(count: int, word: str, words: str | None = None) -> str:
    """``count`` and the word in the number it needs (``words`` where adding an s is wrong).

    >>> plural(1, "copy", "copies"), plural(3, "copy", "copies"), plural(0, "node")
    ('1 copy', '3 copies', '0 nodes')
    """
    return f"{count} {word if count == 1 else (words or word + 's')}"


def short_file(path: str) -> str:
    """A file name that is the same on every machine: no directories, no kernel's temp names."""
    if "ipykernel_" in path or path.startswith("<ipython-input"):
        return "cell"
    return os.path.basename(path) or path


def natural_key(text: str) -> list[tuple[int, int | str]]:
    """Sort key that reads digit runs as numbers (``layers.2`` before ``layers.10``).

    >>> sorted(["h.10", "h.2"], key=natural_key)
    ['h.2', 'h.10']
    """
    return [(0, int(run)) if digits else (1, run)
            for digits, group in itertools.groupby(text, str.isdigit) for run in ["".join(group)]]
