"""notebooks/sanitize.cfg: what nbval hides before comparing outputs, hidden the same and fast."""

from __future__ import annotations

import configparser
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

SANITIZE = Path(__file__).resolve().parent.parent / "notebooks" / "sanitize.cfg"


def _rules() -> dict[str, tuple[str, str]]:
    parser = configparser.ConfigParser()
    parser.read(SANITIZE)
    return {name: (parser[name]["regex"], parser[name]["replace"]) for name in parser.sections()}


def _site_packages() -> tuple[str, str]:
    (rule,) = [rule for name, rule in _rules().items() if "site-packages" in rule[0]]
    return rule


@pytest.mark.parametrize("text", [
    'File "/work/main/.venv/lib/python3.11/site-packages/torch/jit/_script.py", line 1498, in script',
    "/opt/conda/lib/python3.12/site-packages/torch/nn/modules/module.py:1775: UserWarning",
    "(/root/env/site-packages/a.py) and C:/Users/x/site-packages/b.py, twice /a/site-packages/b/site-packages/c",
    "no path here, and site-packages/ alone",
])
def test_installed_package_paths_are_hidden_wherever_they_start(text):
    regex, replace = _site_packages()
    hidden = re.sub(regex, replace, text)
    assert hidden == re.sub(r"\S*/site-packages/", replace, text)  # what the unanchored rule hid
    assert ("/site-packages/" in text) == (replace in hidden)
    assert "/work/main" not in hidden and "/opt/conda" not in hidden and "/root/env" not in hidden


def test_the_rule_hides_the_same_text_as_the_unanchored_one_on_random_lines():
    regex, replace = _site_packages()
    pieces = ["/", "site-packages/", " ", "\n", "a", '"', "(", "\t", "x/y"]
    chooser = random.Random(0)
    for _ in range(2000):
        text = "".join(chooser.choice(pieces) for _ in range(chooser.randrange(1, 12)))
        assert re.sub(regex, replace, text) == re.sub(r"\S*/site-packages/", replace, text), repr(text)


def test_a_long_line_without_spaces_is_sanitized_in_linear_time():
    # a base64 picture is one line of megabytes; the unanchored rule retried from every character
    regex, _ = _site_packages()
    script = f"import re; re.sub({regex!r}, 'X', 'QUJD' * 250_000)"
    subprocess.run([sys.executable, "-c", script], timeout=20, check=True)


def test_every_rule_is_a_valid_regex_with_a_replacement():
    rules = _rules()
    assert {"memory addresses", "ipykernel temporary files"} <= set(rules)
    for regex, replace in rules.values():
        re.compile(regex)
        assert replace
