"""The project's own files install everything: pins, the conda route and the pip route agree."""

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent

# conda-forge name -> PyPI name, where they differ; None: not a Python package (or the tools).
CONDA_TO_PIP = {"pytorch": "torch", "python-graphviz": "graphviz", "python": None, "graphviz": None,
                "pip": None}


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        if name != "bench":  # ./dev.sh bench installs it on demand; the conda route leaves it out
            requirements += extra
    return dict(_split(r) for r in requirements)


def _conda_requirements() -> dict[str, str]:
    listed = {}
    dependencies = (ROOT / "environment.yml").read_text().split("\ndependencies:\n", 1)[1]
    for line in dependencies.splitlines():
        match = re.match(r"^(?:  |      )- ([A-Za-z0-9_.-]+)(\S*)", line.split("#")[0].rstrip())
        if match:
            name, spec = match.groups()
            pip_name = CONDA_TO_PIP.get(name, name)
            if pip_name and not line.startswith("      - --"):
                listed[pip_name] = spec.replace("=", "==", 1) if re.fullmatch(r"=[\d.]+", spec) else spec
    return listed


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", requirement.replace(" ", "")).groups()
    return name.lower(), spec


def test_environment_yml_and_pyproject_list_the_same_packages_and_versions():
    assert _conda_requirements() == _pyproject_requirements()


def test_torch_is_pinned_exactly_everywhere():
    assert _pyproject_requirements()["torch"] == "==2.13.0"
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text().splitlines()
    assert "torch==2.13.0" in (ROOT / "dev.sh").read_text()


def test_conda_route_uses_conda_forge_only():
    text = (ROOT / "environment.yml").read_text()
    assert "  - conda-forge" in text and "  - nodefaults" in text and "defaults\n" not in text.replace(
        "nodefaults\n", "")


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\./dev\.sh (\w+)", readme, re.MULTILINE)
    assert commands[:2] == ["lab", "test"]
    assert "./dev.sh test" in (ROOT / ".ci" / "run").read_text()
