#!/usr/bin/env bash
# One entry point for people and CI: set the project up, then open the notebooks or run the tests.
#
#   ./dev.sh lab     set up, then open JupyterLab on notebooks/
#   ./dev.sh test    set up, then run every test (pytest over tests/, nbval over notebooks/)
#   ./dev.sh setup   set up only
#   ./dev.sh notebooks     re-run every notebook and save its outputs (after changing one)
#   ./dev.sh screenshots   re-take the README's pictures in docs/ (a real JupyterLab in Chromium)
#   ./dev.sh lint          ruff over jitviz/, tests/, bench/ and mypy over jitviz/ (`test` runs them first)
#   ./dev.sh bench         real library models: drawn nodes, picture size, time beside torchview
#   ./dev.sh mutate [module ...]   mutation testing: the kill rate of each module's tests (bench/mutation.py)
#
# Setting up is idempotent: a second run finds .venv and its stamp and returns in about a second.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY="$VENV/bin/python"
STAMP="$VENV/.jitviz-setup"

say() { printf '[jitviz setup] %s\n' "$*" >&2; }
die() { printf '[jitviz setup] error: %s\n' "$*" >&2; exit 1; }

# --- system packages ---------------------------------------------------------------------------

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" = 0 ]; then
        apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_graphviz() {
    command -v dot >/dev/null 2>&1 && return 0
    if can_apt; then
        say "installing Graphviz (Debian package 'graphviz') for the 'dot' binary"
        apt_install graphviz
    else
        die "Graphviz's 'dot' is not on PATH. Install it with one of: conda install -c conda-forge graphviz | sudo apt-get install graphviz | brew install graphviz; then run this again."
    fi
}

CHROMIUM="${JITVIZ_CHROMIUM:-/usr/bin/chromium}"

ensure_chromium() {
    [ -x "$CHROMIUM" ] && return 0
    if can_apt; then
        say "installing Chromium (Debian package 'chromium') for the browser tests in tests/e2e"
        apt_install chromium fonts-dejavu-core
    else
        die "The browser tests need Chromium at $CHROMIUM (or set JITVIZ_CHROMIUM). Install it with: sudo apt-get install chromium; then run this again."
    fi
}

# cmake and a C++ compiler build cpp/run_model.cpp (the save/load notebook and tests/test_cpp.py).
ensure_build_tools() {
    command -v cmake >/dev/null 2>&1 && command -v c++ >/dev/null 2>&1 && return 0
    if can_apt; then
        say "installing cmake and g++ for the C++ loader in cpp/"
        apt_install cmake g++ make
    elif [ "${1:-}" = required ]; then
        die "cmake and a C++ compiler are needed for the tests. Install them with one of: sudo apt-get install cmake g++ | conda install -c conda-forge cmake cxx-compiler | brew install cmake; then run this again."
    else
        say "note: without cmake and a C++ compiler, the C++ part of notebook 04 cannot run (sudo apt-get install cmake g++)"
    fi
}

# --- the Python environment --------------------------------------------------------------------

# pip, minus the warnings this machine's pip configuration prints for every package.
pip_install() {
    "$PY" -m pip install -q "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

setup_hash() { cat pyproject.toml constraints.txt dev.sh | sha256sum | cut -c1-16; }

ensure_venv() {
    local want
    want=$(setup_hash)
    if [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
        return 0
    fi
    command -v python3 >/dev/null 2>&1 || die "python3 (3.10 or newer) is needed; install it and run this again."
    [ -x "$PY" ] || { say "creating $VENV"; python3 -m venv "$VENV"; }
    export PIP_CONSTRAINT="$PWD/constraints.txt" PIP_DISABLE_PIP_VERSION_CHECK=1
    # torch first, exactly pinned, so that nothing later can choose another build of it.
    say "installing torch==2.13.0 and numpy"
    pip_install torch==2.13.0 numpy
    say "installing jitviz (editable) with its notebook and test extras"
    pip_install -e ".[notebooks,test]"
    "$PY" -c 'import torch, sys; v = torch.__version__.split("+")[0]; sys.exit(0 if v == "2.13.0" else f"torch {torch.__version__} was installed; expected 2.13.0")'
    echo "$want" > "$STAMP"
}

setup() {
    ensure_graphviz
    ensure_build_tools "${1:-}"
    ensure_venv
}

# ruff (style and likely bugs) over the code and tests, mypy (types) over the package.
lint() {
    local status=0
    "$VENV/bin/ruff" check jitviz tests bench || status=1
    "$VENV/bin/mypy" || status=1
    [ "$status" = 0 ] || die "lint failed: fix what ruff and mypy say above (./dev.sh lint runs them alone)"
}

# --- commands ----------------------------------------------------------------------------------

case "${1:-}" in
    setup)
        setup
        ;;
    lab)
        setup
        shift
        root_flag=()
        [ "$(id -u)" = 0 ] && root_flag=(--allow-root)  # containers often run as root
        exec "$VENV/bin/jupyter" lab notebooks/ "${root_flag[@]}" "$@"
        ;;
    test)
        setup required
        ensure_chromium
        shift
        lint  # ruff and mypy first: a few seconds, and a red lint fails the run like a red test
        # -n auto: one worker per core; tests/conftest.py keeps each file (and the browser tests) in one worker
        exec "$PY" -m pytest tests notebooks jitviz --nbval --nbval-sanitize-with notebooks/sanitize.cfg \
            -n auto --dist loadgroup --no-loadscope-reorder --durations=10 "$@"
        ;;
    notebooks)
        setup
        # no per-cell timing metadata: it would change every file on every run; no saved widget
        # state: a static copy (nbconvert HTML, GitHub) then shows each widget's own HTML fallback
        # (explain's coloured source and picture) instead of an empty widget frame
        exec "$VENV/bin/jupyter" nbconvert --to notebook --execute --inplace \
            --ExecutePreprocessor.record_timing=False --ExecutePreprocessor.store_widget_state=False \
            notebooks/*.ipynb
        ;;
    screenshots)
        setup
        ensure_chromium
        JITVIZ_UPDATE_DOCS=1 exec "$PY" -m pytest tests/e2e -q
        ;;
    lint)
        setup
        lint
        ;;
    bench)
        setup
        export PIP_CONSTRAINT="$PWD/constraints.txt" PIP_DISABLE_PIP_VERSION_CHECK=1
        pip_install -e ".[bench]"
        shift
        exec "$PY" bench/readability.py "$@"
        ;;
    mutate)
        setup
        shift
        exec "$PY" bench/mutation.py "$@"
        ;;
    *)
        sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
