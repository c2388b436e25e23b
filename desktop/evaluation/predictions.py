"""``predictions.jsonl``: one JSON line per captioned clip, appended as it is made.

Each line is flushed and fsync'ed, so an interrupted run loses at most the clip in flight and a
rerun continues where it stopped. Every line carries the run's identity (decoding settings and
model references) and its hash ``run_key``; a rerun with other settings is refused with a message
naming what changed (or, asked to restart, sets the old file aside, never deletes it).

A line looks like::

    {"clip_id": "abc_30000", "audio": "/data/abc_30000.wav", "caption": "a dog barks.",
     "keywords": [{"keyword": "Dog", "score": 0.31}], "run_key": "3f2a...", "params": {...},
     "models": {"clap": "...", "llm": "...", "vocabulary": "audioset"}}

A clip that could not be captioned has ``"caption": null`` and an ``"error"``; reruns retry it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from desktop.evaluation.errors import EvaluationError

log = logging.getLogger(__name__)

__all__ = ["PredictionStore", "RunIdentity", "read_predictions"]


@dataclass(frozen=True)
class RunIdentity:
    """What makes two runs' captions comparable: settings and models.

    Attributes:
        params: ``CaptionerConfig.to_dict()``.
        models: ``{"clap": ..., "llm": ..., "vocabulary": ...}``.
    """

    params: dict[str, Any]
    models: dict[str, str]

    @property
    def key(self) -> str:
        """Short stable hash of the identity."""
        blob = json.dumps({"params": self.params, "models": self.models}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def differences(self, record: dict[str, Any]) -> list[str]:
        """Human-readable differences between this identity and a stored record's."""
        out = []
        for section, mine in (("params", self.params), ("models", self.models)):
            theirs = record.get(section) or {}
            for name in sorted(set(mine) | set(theirs)):
                if mine.get(name) != theirs.get(name):
                    out.append(f"{name} {theirs.get(name)!r} -> {mine.get(name)!r}")
        return out


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """Read every record of a predictions file.

    A last line cut short by a crash is skipped with a warning; any other unreadable line is an
    error, because the file was damaged or edited.

    Raises:
        EvaluationError: The file is missing or has a bad line before the last.
    """
    if not path.is_file():
        raise EvaluationError(f"predictions file not found: {path}")
    lines = path.read_text(encoding="utf-8").split("\n")
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("clip_id"), str):
                raise ValueError("not a prediction record (needs a clip_id)")
        except ValueError as exc:
            is_last = all(not rest.strip() for rest in lines[number:])
            if is_last:
                log.warning("%s: skipping an incomplete last line (interrupted run?)", path)
                continue
            raise EvaluationError(f"{path} line {number} is not a prediction: {exc}") from None
        records.append(record)
    return records


def _trim_incomplete_tail(path: Path) -> None:
    """Cut a last line that a crash left half-written, so appended lines stay parseable."""
    data = path.read_bytes()
    body = data.rstrip(b"\n")
    if not body:
        return
    start = body.rfind(b"\n") + 1
    try:
        json.loads(body[start:])
    except ValueError:
        pass
    else:
        if not data.endswith(b"\n"):
            with path.open("ab") as fh:
                fh.write(b"\n")
        return
    log.warning("%s: dropping an incomplete last line (interrupted run)", path)
    with path.open("r+b") as fh:
        fh.truncate(start)


class PredictionStore:
    """Append-only predictions of one run, resumable.

    Use :meth:`open`; then :meth:`is_done` to skip finished clips and :meth:`append` per clip.
    """

    def __init__(self, path: Path, identity: RunIdentity, records: list[dict[str, Any]]) -> None:
        self.path = path
        self.identity = identity
        self._captions: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, dict[str, Any]] = {}
        for record in records:
            self._remember(record)
        self._fh: IO[str] | None = None

    @classmethod
    def open(cls, path: Path, identity: RunIdentity, *, restart: bool = False) -> PredictionStore:
        """Open (or start) the predictions file of a run with ``identity``.

        Args:
            path: The ``predictions.jsonl`` file.
            identity: The settings and models of this run.
            restart: When the file holds another run's captions, rename it to
                ``predictions.<time>.jsonl`` and start fresh instead of refusing.

        Raises:
            EvaluationError: The file holds captions from other settings and ``restart`` is
                False, or the file is damaged.
        """
        if path.exists():
            _trim_incomplete_tail(path)
        records = read_predictions(path) if path.exists() else []
        foreign = [r for r in records if r.get("run_key") != identity.key]
        if foreign:
            changes = identity.differences(foreign[0]) or ["run_key differs"]
            if not restart:
                raise EvaluationError(
                    f"{path} holds {len(foreign)} caption(s) made with other settings "
                    f"({'; '.join(changes[:6])}). Use another --out folder, or --restart to set "
                    "the old file aside and start again."
                )
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = path.with_name(f"{path.stem}.{stamp}{path.suffix}")
            path.rename(aside)
            log.warning("settings changed (%s); old predictions kept as %s", changes[0], aside)
            records = []
        return cls(path, identity, records)

    def _remember(self, record: dict[str, Any]) -> None:
        clip_id = record["clip_id"]
        if isinstance(record.get("caption"), str):
            self._captions[clip_id] = record
            self._failures.pop(clip_id, None)
        else:
            self._failures[clip_id] = record

    def is_done(self, clip_id: str) -> bool:
        """True when the clip already has a caption from this run."""
        return clip_id in self._captions

    @property
    def captions(self) -> dict[str, dict[str, Any]]:
        """Captioned records by clip id (the last one wins)."""
        return dict(self._captions)

    @property
    def failures(self) -> dict[str, dict[str, Any]]:
        """Clips whose latest attempt failed, by clip id."""
        return dict(self._failures)

    def append(
        self,
        clip_id: str,
        *,
        audio: str | None,
        caption: str | None = None,
        keywords: list[dict[str, Any]] | None = None,
        error: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write one record and make it durable before returning it."""
        record: dict[str, Any] = {"clip_id": clip_id, "audio": audio, "caption": caption}
        if error is not None:
            record["error"] = error
        record["keywords"] = keywords or []
        record.update(extra or {})
        record.update(
            {"run_key": self.identity.key, "params": self.identity.params,
             "models": self.identity.models}
        )  # fmt: skip
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._remember(record)
        return record

    def close(self) -> None:
        """Close the file (appending again reopens it)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> PredictionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
