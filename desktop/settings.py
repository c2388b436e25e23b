"""Earmark's settings: one small dataclass persisted as JSON in the data folder, read by the app
and by the ``earmark`` command (its model options fall back to these), so both use the same
models.

Plain Python (no Qt, no torch), so the worker thread can read a copy and tests can build one
directly. A settings file that cannot be read is kept aside (``settings.json.bad``) and
defaults are used, so a hand-edit gone wrong never stops the app from opening.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.library.paths import data_dir

if TYPE_CHECKING:  # pragma: no cover
    from captioner.loading import LoadPlan

log = logging.getLogger(__name__)

__all__ = ["AppSettings", "settings_path"]


def settings_path() -> Path:
    """The settings file: ``<data dir>/settings.json``."""
    return data_dir() / "settings.json"


@dataclass
class AppSettings:
    """Everything the settings dialog edits.

    Attributes:
        clap: Audio-language model: Hugging Face id or local folder; empty means the preset's
            (for the ``paper`` presets, an imported WavCaps model when there is one).
        llm: Language model: Hugging Face id or local folder; empty means OPT-1.3B.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
        preset: A preset of ``captioner.config.PRESETS`` (``default``, ``paper``,
            ``paper-released``).
        dtype: Precision (``auto``, ``float32``, ``float16``, ``bfloat16``); empty means the
            preset's (float32 for the ``paper`` presets).
        overrides: Knob values that differ from the preset (``{"beta": 0.4}``).
        vocabulary: Keyword vocabulary file (.txt/.csv); empty means the built-in AudioSet list.
        batch_size: Files captioned per batch.
    """

    clap: str = ""
    llm: str = ""
    device: str = "auto"
    preset: str = "default"
    dtype: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)
    vocabulary: str = ""
    batch_size: int = 1

    @classmethod
    def load(cls, path: Path | None = None) -> AppSettings:
        """Read settings from ``path`` (default :func:`settings_path`); defaults if absent."""
        path = path or settings_path()
        if not path.is_file():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            known = {f.name for f in dataclasses.fields(cls)}
            settings = cls(**{k: v for k, v in raw.items() if k in known})
            settings._check()
            return settings
        except (OSError, ValueError, TypeError) as exc:
            log.warning("settings file %s unreadable (%s); using defaults", path, exc)
            with contextlib.suppress(OSError):
                os.replace(path, path.with_name(path.name + ".bad"))
            return cls()

    def save(self, path: Path | None = None) -> None:
        """Write settings atomically to ``path`` (default :func:`settings_path`)."""
        path = path or settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self), indent=2), encoding="utf-8")
        os.replace(tmp, path)

    def plan(self) -> LoadPlan:
        """What these settings load (preset defaults applied); cheap, no torch.

        Raises:
            ValueError: An unknown preset or setting, or a value out of range.
        """
        from captioner.loading import plan_load

        return plan_load(
            self.preset,
            clap=self.clap or None,
            llm=self.llm or None,
            device=self.device or None,
            dtype=self.dtype or None,
            vocabulary=self.vocabulary or None,
            overrides=self.overrides,
        )

    def copy(self) -> AppSettings:
        """A deep copy (the worker keeps its own)."""
        return dataclasses.replace(self, overrides=dict(self.overrides))

    def _check(self) -> None:
        if not isinstance(self.overrides, dict):
            raise ValueError("overrides must be an object")
        texts = (self.clap, self.llm, self.device, self.preset, self.dtype, self.vocabulary)
        if not all(isinstance(v, str) for v in texts):
            raise ValueError("model refs, device, preset, dtype and vocabulary must be strings")
        from captioner.config import PRESETS  # light: no torch

        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError("batch_size must be a positive integer")
