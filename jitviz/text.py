"""Text from users' code made safe to print and to put in HTML: control characters shown, not run.

A name or a result can hold NUL, an ANSI escape (``\\x1b[2J`` clears a terminal) or a bidi override
(U+202E turns the rest of a line around): printed raw, they garble or disguise what a learner reads.

    visible("a\\x1bb")  # 'a\\\\x1bb': the escape is shown as the four characters \\x1b
"""

from __future__ import annotations

import os
import re

__all__ = ["plural", "short_file", "visible"]

# C0 and C1 controls except newline and tab, DEL, and the Unicode bidi and invisible-format marks.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def visible(text: str) -> str:
    """``text`` with every control or bidi character written as its escape: ``visible("\\x00")``."""
    return _INVISIBLE.sub(lambda match: match.group(0).encode("unicode_escape").decode("ascii"), text)


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
