"""Fixtures for library tests: a folder of good and broken sounds, an open library."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

# pytest puts tests/ on sys.path, where tests/captioner (no __init__.py) would shadow the real
# captioner package as a namespace package; the repository root must win.
_ROOT = str(Path(__file__).resolve().parents[2])
if sys.path[:1] != [_ROOT]:
    sys.path.insert(0, _ROOT)

import pytest  # noqa: E402

from desktop.library import Library  # noqa: E402
from tests.library.fakes import FakeCaptioner, make_sound_tree  # noqa: E402


@pytest.fixture
def sound_tree(tmp_path: Path) -> Path:
    return make_sound_tree(tmp_path / "sounds")


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    with Library.open(tmp_path / "library.db") as library:
        yield library


@pytest.fixture
def fake() -> FakeCaptioner:
    return FakeCaptioner()
