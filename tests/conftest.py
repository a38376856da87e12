"""Shared fixtures: the --update-golden flag, the `exe` marker, quiet TorchScript warnings, and
`ir.Graph.validate()` run on every graph an extractor makes."""

import functools
import re
import shutil
import warnings

import pytest
import torch

from jitviz import ir
from jitviz.extract import export, torchscript


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/*.dot from the current output instead of comparing with them",
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    # Under pytest-xdist (`./dev.sh test` runs `-n auto --dist loadgroup`), each file's tests go to
    # one worker together (a notebook's cells share one kernel, a module's fixtures are made once),
    # and the browser tests all to one worker (one JupyterLab, one Chromium), sent first: they are
    # the longest group, and the other worker runs everything else meanwhile. Without workers, the
    # browser tests run last, so that JupyterLab and Chromium stop as soon as they are done.
    for item in items:
        group = "browser" if "e2e" in item.keywords else re.sub(r"\W", "_", item.nodeid.split("::")[0])
        item.add_marker(pytest.mark.xdist_group(group))
    in_a_worker = hasattr(config, "workerinput")
    items.sort(key=lambda item: ("e2e" in item.keywords) != in_a_worker)
    if shutil.which("dot"):
        return
    skip = pytest.mark.skip(reason="Graphviz's `dot` is not on PATH (./dev.sh setup installs it)")
    for item in items:
        if "exe" in item.keywords:
            item.add_marker(skip)


def pytest_make_parametrize_id(config, val, argname):
    """A long parameter (a 63 MiB pickle, 100,000 brackets) is named by its start and its length,
    so that a test's name stays a name in reports and between pytest-xdist's processes."""
    if isinstance(val, (str, bytes)) and len(val) > 60:
        return f"{ascii(val[:16])}+{len(val) - 16}"
    return None


@pytest.fixture(autouse=True)
def _quiet_torchscript():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden")


def _validated(make):
    """``make``, but every graph it returns is checked with ``ir.Graph.validate()`` first."""

    @functools.wraps(make)
    def wrapper(*args, **kwargs):
        return make(*args, **kwargs).validate()

    return wrapper


@pytest.fixture(autouse=True, scope="session")
def _validate_every_graph():
    """Every test that builds a graph also checks the model's invariants (ids, producers, scopes)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torchscript, "convert", _validated(torchscript.convert))
        patch.setattr(export, "convert", _validated(export.convert))
        patch.setattr(ir.Graph, "collapsed", _validated(ir.Graph.collapsed))
        yield
