"""Layout: every picture from a fresh ``dot``, the same bytes in any process; a failed layout falls back."""

from __future__ import annotations

import html
import os
import stat
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

import jitviz
from jitviz.errors import JitvizError, LayoutTimeoutError
from jitviz.layout import run_dot

from . import seed_functions as seed

pytestmark = pytest.mark.exe


def _source() -> str:
    return jitviz.show(seed.looping).source


# Notebook 03's greedy decoder with its calls expanded (the picture whose clusters came out in
# another order from run to run) and a picture of many clusters: a 6-layer encoder, 2 levels open.
_PICTURES = textwrap.dedent('''
    import sys, warnings
    from typing import List
    import torch
    from torch import nn
    import jitviz
    warnings.simplefilter("ignore")
    torch.manual_seed(0)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(4, 8)
        def forward(self, src):
            return torch.tanh(self.embed(src)).mean(0)

    class GreedyDecoder(nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
            self.embed = nn.Embedding(6, 8)
            self.cell = nn.GRUCell(8, 8)
            self.out = nn.Linear(8, 6)
        def forward(self, src, steps: int) -> List[int]:
            h = self.encoder(src).unsqueeze(0)
            tokens: List[int] = []
            token = 1
            for _ in range(steps):
                h = self.cell(self.embed(torch.tensor([token])), h)
                token = int(self.out(h).argmax())
                tokens.append(token)
                if token == 0:
                    break
            return tokens

    encoder = torch.jit.trace(Encoder(), torch.randn(5, 4))
    layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
    stack = nn.TransformerEncoder(layer, 6, enable_nested_tensor=False).eval()
    views = [jitviz.show(torch.jit.script(GreedyDecoder(encoder)), expand_calls=1),
             jitviz.show(torch.jit.script(stack), expand_calls=2)]
    out = sys.stdout.buffer
    for view in views:
        for part in (view.source.encode(), view.svg().encode()):
            out.write(len(part).to_bytes(8, "big") + part)
''')


def _pictures_in_a_fresh_process(script: str, hash_seed: int) -> list[bytes]:
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    done = subprocess.run([sys.executable, script], capture_output=True, env=env, timeout=300, check=True)
    parts, data = [], done.stdout
    while data:
        size = int.from_bytes(data[:8], "big")
        parts.append(data[8:8 + size])
        data = data[8 + size:]
    return parts


def test_the_same_pictures_are_the_same_bytes_in_fresh_processes_in_parallel(tmp_path):
    # Four Python processes at once (each with its own hash seed, the machine loaded by the others)
    # build the DOT and the SVG; then 20 fresh dot processes lay the biggest DOT out at once.
    script = tmp_path / "pictures.py"  # a file: torch.jit.script reads the classes' source
    script.write_text(_PICTURES)
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda seed: _pictures_in_a_fresh_process(str(script), seed), [1, 2, 3, 4]))
    assert len(runs[0]) == 4 and all(run == runs[0] for run in runs[1:])
    decoder_svg, encoder_dot = runs[0][1].decode(), runs[0][2].decode()
    assert decoder_svg.count('class="cluster"') >= 4  # the expanded calls and the loop: clusters to order
    with ThreadPoolExecutor(20) as pool:
        svgs = list(pool.map(lambda _: run_dot(encoder_dot, "svg"), range(20)))
    assert len(set(svgs)) == 1 and svgs[0].startswith(b"<?xml")


def test_pictures_drawn_in_any_order_are_the_same_bytes():
    small = 'digraph { subgraph cluster_a { a } subgraph cluster_b { b } a -> b }'
    first = run_dot(_source(), "svg")
    run_dot(small, "svg")
    assert run_dot(_source(), "svg") == first
    assert run_dot(_source(), "svg", timeout=60) == first  # the limit does not change the picture


def test_a_picture_over_the_time_limit_is_an_error_that_says_what_to_do_never_another_layout():
    with pytest.raises(LayoutTimeoutError, match="Draw less of it"):
        run_dot(_source(), "svg", timeout=1e-4)


def test_a_picture_shown_in_a_cell_keeps_to_the_limit(monkeypatch):
    monkeypatch.setattr("jitviz.layout.LAYOUT_SECONDS", 1e-4)
    with pytest.raises(LayoutTimeoutError):
        jitviz.show(seed.looping).svg()


def _fake_dot(tmp_path, script: str, monkeypatch) -> None:
    """A ``dot`` on PATH that runs ``script`` (bash; "$@" are dot's arguments) instead of Graphviz."""
    folder = tmp_path / "bin"
    folder.mkdir()
    fake = folder / "dot"
    fake.write_text("#!/usr/bin/env bash\n" + script)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_when_dot_fails_the_picture_is_laid_out_with_newrank_and_its_title_says_so(tmp_path, monkeypatch):
    real = subprocess.run(["which", "dot"], capture_output=True, text=True, check=True).stdout.strip()
    _fake_dot(tmp_path, textwrap.dedent(f'''
        for arg in "$@"; do [ "$arg" = -Gnewrank=true ] && exec {real} "$@"; done
        cat >/dev/null; echo "Error: trouble in init_rank" >&2; exit 1
    '''), monkeypatch)
    svg = html.unescape(run_dot(_source(), "svg").decode())
    assert "laid out with dot -Gnewrank=true" in svg and "trouble in init_rank" in svg
    assert "looping (scripted)" in svg  # the note is added under the title, not instead of it


def test_when_the_fallback_fails_too_the_error_gives_both_reasons(tmp_path, monkeypatch):
    _fake_dot(tmp_path, 'cat >/dev/null; echo "Error: trouble in init_rank" >&2; exit 1\n', monkeypatch)
    with pytest.raises(JitvizError, match="init_rank.*-Gnewrank=true.*init_rank"):
        run_dot(_source(), "svg")


@pytest.mark.parametrize("script", ["exit 0\n", "exec 0<&-; sleep 0.2; exit 3\n"])
def test_a_dot_that_draws_nothing_or_closes_its_input_gives_a_clear_error(tmp_path, monkeypatch, script):
    _fake_dot(tmp_path, script, monkeypatch)
    with pytest.raises(JitvizError, match="Graphviz could not draw this picture"):
        run_dot(_source() * 50, "svg")


def test_a_graph_dot_cannot_read_gives_its_error_and_no_second_try():
    with pytest.raises(JitvizError, match="syntax error") as raised:
        run_dot("digraph { a -> }", "svg")
    assert "newrank" not in str(raised.value)


def test_text_that_looks_like_markup_stays_text():
    tricky = run_dot('digraph { a [label="</svg>\\n<svg>"] }', "svg").decode()
    assert tricky.count("</svg>") == 1 and "&lt;/svg&gt;" in tricky


def test_a_png_is_drawn_at_a_size_a_bitmap_can_hold(tmp_path, monkeypatch):
    import struct

    monkeypatch.setattr("jitviz.display._PNG_PIXELS", 300)
    path = jitviz.show(seed.looping).save(tmp_path / "looping.png")
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    assert max(width, height) <= 300 + 2 and min(width, height) > 20
