"""The wheel lists its packages by hand (pyproject's [tool.setuptools] packages, because conf/ is mapped
to mmfusion.conf): every package folder under mmfusion/ must be listed, or a non-editable install lacks it."""

from pathlib import Path

import pytest

import mmfusion

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_in_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    pkg = Path(mmfusion.__file__).resolve().parent
    found = {
        ".".join(("mmfusion", *p.parent.relative_to(pkg).parts))
        for p in pkg.rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    missing = sorted(found - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert "mmfusion.conf" in listed
