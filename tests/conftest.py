"""Shared fixtures: the --update-golden flag, the `exe` marker, and quiet TorchScript warnings."""

import shutil
import warnings

import pytest
import torch


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/*.dot from the current output instead of comparing with them",
    )


def pytest_collection_modifyitems(config, items):
    if shutil.which("dot"):
        return
    skip = pytest.mark.skip(reason="Graphviz's `dot` is not on PATH (./dev.sh setup installs it)")
    for item in items:
        if "exe" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _quiet_torchscript():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden")
