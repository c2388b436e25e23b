"""App settings: a small dataclass persisted as JSON in the data folder.

Plain Python (no Qt), so the worker thread can read a copy and tests can build one directly.
A settings file that cannot be read is kept aside (``settings.json.bad``) and defaults are
used, so a hand-edit gone wrong never stops the app from opening.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.library.paths import data_dir

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_CLAP", "DEFAULT_LLM", "KNOBS", "AppSettings", "settings_path"]

# Kept in step with captioner.models; duplicated so the window opens without importing it.
DEFAULT_CLAP = "laion/larger_clap_general"
DEFAULT_LLM = "facebook/opt-1.3b"

#: Captioner knobs the settings dialog offers, with (minimum, maximum, step) for spin boxes.
KNOBS: dict[str, tuple[float, float, float]] = {
    "k": (1, 200, 1),
    "alpha": (0.0, 1.0, 0.05),
    "beta": (0.0, 5.0, 0.05),
    "tau": (0.1, 100.0, 0.5),
    "gamma": (0.0, 1.0, 0.01),
    "l": (0, 10, 1),
    "max_length": (8, 256, 1),
}


def settings_path() -> Path:
    """The settings file: ``<data dir>/settings.json``."""
    return data_dir() / "settings.json"


@dataclass
class AppSettings:
    """Everything the settings dialog edits.

    Attributes:
        clap: Audio-language model: Hugging Face id or local folder.
        llm: Language model: Hugging Face id or local folder.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
        preset: ``"default"`` or ``"paper"``.
        overrides: Knob values that differ from the preset (``{"beta": 0.4}``).
        vocabulary: Keyword vocabulary file (.txt/.csv); empty means the built-in AudioSet list.
        batch_size: Files captioned per batch.
    """

    clap: str = DEFAULT_CLAP
    llm: str = DEFAULT_LLM
    device: str = "auto"
    preset: str = "default"
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

    def copy(self) -> AppSettings:
        """A deep copy (the worker keeps its own)."""
        return dataclasses.replace(self, overrides=dict(self.overrides))

    def _check(self) -> None:
        if not isinstance(self.overrides, dict):
            raise ValueError("overrides must be an object")
        texts = (self.clap, self.llm, self.device, self.preset, self.vocabulary)
        if not all(isinstance(v, str) for v in texts):
            raise ValueError("model refs, device, preset and vocabulary must be strings")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError("batch_size must be a positive integer")
