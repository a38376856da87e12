"""The style table is the one truth about how a picture looks: the README's legend follows it."""

from __future__ import annotations

import re
from pathlib import Path

import jitviz
from jitviz.style import CATEGORIES, CLUSTER_STYLE, NODE_STYLE, category

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_legend_lists_exactly_the_style_categories():
    legend = README.read_text(encoding="utf-8").split("## Reading a picture", 1)[1].split("\n\n", 2)[1]
    listed = re.findall(r"^\| [^|]+ \| (\w+) \|", legend, flags=re.MULTILINE)
    assert listed[0] == "category"  # the header row
    assert set(listed[1:]) == set(CATEGORIES)


def test_every_category_has_a_style_and_every_kind_a_category():
    for name in CATEGORIES:
        assert name in NODE_STYLE or name in CLUSTER_STYLE, name
    for kind, expected in [("aten::mul", "aten"), ("prim::If", "if"), ("higher_order::cond", "if"),
                           ("prim::Loop", "loop"), ("call_module", "call"), ("prim::TupleUnpack", "prim")]:
        assert category(kind) == expected


def test_every_colour_in_the_code_comes_from_the_style_table():
    package = Path(jitviz.__file__).parent
    colour = re.compile(r"#[0-9a-fA-F]{6}\b")
    elsewhere = {path.name: colour.findall(path.read_text(encoding="utf-8"))
                 for path in package.rglob("*.py") if path.name != "style.py"}
    assert {name: found for name, found in elsewhere.items() if found} == {}
