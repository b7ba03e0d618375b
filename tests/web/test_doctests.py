"""The examples in web/'s docstrings run (``./run test`` collects doctests of graphflow/ and
ingest/ only)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import web


@pytest.mark.parametrize("name", sorted(m.name for m in pkgutil.iter_modules(web.__path__,
                                                                                "web.")))
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_package_docstring_example() -> None:
    assert doctest.testmod(web).failed == 0
