#!/usr/bin/env bash
# Exactly one TensorFlow distribution after `pip install .` and after `pip install '.[gpu]'` (issue 13).
#
#     bash scripts/check_tf_install.sh [scratch-dir]      # default: a new temporary directory
#
# Builds a scratch venv, installs the project, lists the distributions that ship the `tensorflow`
# package (tensorflow, tensorflow-cpu, tensorflow-intel, tf-nightly, ...) and runs `pip check`; then
# installs the gpu extra on top and checks again. Needs the package index (the gpu extra downloads
# NVIDIA's CUDA wheels, a few GB, once into pip's cache). Exit 0 only when both checks pass.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${1:-$(mktemp -d)}"
venv="$scratch/venv"
python3 -m venv "$venv"
pip() { "$venv/bin/python" -m pip --disable-pip-version-check "$@"; }
pip install --quiet --upgrade pip

check() {  # $1: what was installed
    local tf
    tf="$(pip list --format=freeze | grep -i -E '^(tensorflow|tensorflow[-_](cpu|gpu|intel|macos|rocm)|tf[-_]nightly([-_](cpu|gpu|intel|macos))?)==' || true)"
    echo "after $1: TensorFlow distributions: $(echo "$tf" | tr '\n' ' ')"
    if [ "$(echo "$tf" | grep -c .)" -ne 1 ]; then
        echo "FAIL: after $1 there are $(echo "$tf" | grep -c .) TensorFlow distributions, expected exactly 1" >&2
        exit 1
    fi
    pip check || { echo "FAIL: pip check after $1" >&2; exit 1; }
}

pip install --quiet "$root"
check "pip install ."
pip install --quiet "$root[gpu]"
check "pip install '.[gpu]'"
echo "OK: one TensorFlow distribution after either install"
