"""Shared fixtures: the repository layout and a factory of graded submissions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "book"), str(Path(__file__).resolve().parent)]


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO
