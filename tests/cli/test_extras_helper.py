"""The optional-dependency helper: import or one clear error naming the extra."""

from __future__ import annotations

import pytest

import autowarm
from autowarm._extras import MissingExtraError, require


def test_require_returns_the_module():
    import json

    assert require("json", "core") is json


def test_missing_module_names_the_extra_and_the_purpose():
    with pytest.raises(MissingExtraError) as info:
        require("autowarm_no_such_module", "hub", "streaming FineWeb")
    msg = str(info.value)
    assert msg == (
        "autowarm_no_such_module is needed for streaming FineWeb: pip install 'autowarm[hub]'"
    )
    assert "\n" not in msg
    assert isinstance(info.value, ImportError)  # old `except ImportError` keeps working


def test_missing_dependency_of_an_installed_module_is_named(tmp_path, monkeypatch):
    (tmp_path / "awx_shim.py").write_text("import awx_really_missing_dep\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtraError, match=r"^awx_really_missing_dep is needed for plotting"):
        require("awx_shim", "plot", "plotting")


def test_other_import_errors_propagate(tmp_path, monkeypatch):
    (tmp_path / "awx_broken.py").write_text("raise RuntimeError('broken at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuntimeError, match="broken at import"):
        require("awx_broken", "plot")


def test_public_name():
    assert autowarm.MissingExtraError is MissingExtraError
