"""Every name a package lists in __all__ really exists (explicit surface)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import elkeid

PACKAGES = sorted(
    m.name for m in pkgutil.walk_packages(elkeid.__path__, "elkeid.")
    if m.ispkg and ".migrations" not in m.name
)  # fmt: skip


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist(name):
    module = importlib.import_module(name)
    for export in getattr(module, "__all__", []):
        assert hasattr(module, export), f"{name}.__all__ lists {export!r} but it is not there"
