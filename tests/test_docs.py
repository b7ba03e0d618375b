"""Docs generated from code are current; every command has help text and is in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow.cli import main
from graphflow.docs import render_docs

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("rel", sorted(render_docs()))
def test_generated_docs_are_current(rel: str) -> None:
    assert (ROOT / rel).read_text() == render_docs()[rel], (
        f"{rel} is stale: run python -m graphflow.docs")


@pytest.mark.parametrize("name", sorted(main.all_commands))
def test_every_command_is_documented(name: str) -> None:
    cmd = main.all_commands[name]
    assert cmd.help and len(cmd.help) > 20
    assert f"graphflow {name}" in (ROOT / "docs" / "cli.md").read_text()
