"""Test helpers: a deterministic stand-in for the ``Captioner`` facade (no torch), a sound tree."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from captioner.types import AudioIndex, Caption, CaptionFailure, KeywordScore, Provenance
from tests.conftest import write_tone

DIM = 16
WORDS = ("dog", "bark", "rain", "thunder", "engine", "bird", "door", "water", "wind", "bell")


def text_vector(text: str) -> np.ndarray:
    """A bag-of-words embedding: texts sharing words are close, as CLAP text/audio would be."""
    vec = np.zeros(DIM, np.float32)
    for word in text.lower().split():
        digest = hashlib.sha256(word.strip(".,").encode()).digest()
        vec += np.frombuffer(digest[: DIM * 4], dtype=np.uint8)[:DIM].astype(np.float32) - 127.5
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm else vec


@dataclass
class FakeConfig:
    k: int = 3

    def to_dict(self) -> dict[str, object]:
        return {"k": self.k}


@dataclass
class FakeCaptioner:
    """Captions a file with words picked from its name; fails on names in ``fail_on``."""

    fail_on: set[str] = field(default_factory=set)
    delay: float = 0.0
    calls: list[str] = field(default_factory=list)
    embedding_model_id: str = "fake-clap"
    clap_ref: str = "fake-clap"
    llm_ref: str = "fake-llm"
    config: FakeConfig = field(default_factory=FakeConfig)
    policy_key: str = "fake/1"
    reused: list[str] = field(default_factory=list)

    def caption_text(self, path: str) -> str:
        stem = Path(path).stem.lower()
        words = [w for w in WORDS if w in stem] or ["sound"]
        return "a " + " and ".join(words) + "."

    def caption(self, path: str | os.PathLike[str]) -> Caption:
        path = os.fspath(path)
        self.calls.append(path)
        if self.delay:
            time.sleep(self.delay)  # simulates model time (kill tests only), not a timing wait
        if Path(path).name in self.fail_on:
            raise RuntimeError("boom")
        info = sf.info(path)  # a real decode check, like the engine's
        text = self.caption_text(path)
        keywords = [w for w in WORDS if w in text] or ["sound"]
        return Caption(
            text=text,
            keywords=[KeywordScore(k, 0.5 - 0.01 * i) for i, k in enumerate(keywords)],
            prompt="This is a sound of",
            audio_embedding=text_vector(text),
            provenance=Provenance(
                clap=self.clap_ref,
                llm=self.llm_ref,
                params=self.config.to_dict(),
                window_policy="pad",
                policy_key=self.policy_key,
            ),
            path=path,
            duration_s=info.frames / info.samplerate,
        )

    def caption_many(
        self,
        paths: Sequence[str],
        batch_size: int = 1,
        indexed: Sequence[AudioIndex | None] | None = None,
    ) -> Iterator[Caption | CaptionFailure]:
        for i, path in enumerate(paths):
            stored = indexed[i] if indexed is not None else None
            try:
                caption = self.caption(path)
            except Exception as exc:
                yield CaptionFailure(str(path), str(exc), type(exc).__name__)
                continue
            if stored is not None:
                self.reused.append(str(path))  # the audio pass a real captioner would skip
                caption.audio_embedding = stored.audio_embedding
            caption.tags = list(caption.keywords)
            yield caption

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([text_vector(t) for t in texts])


@dataclass
class FakeIndexer:
    """The index stage's stand-in: tags from the file name, embedding from the tags."""

    fail_on: set[str] = field(default_factory=set)
    delay: float = 0.0
    calls: list[list[str]] = field(default_factory=list)
    embedding_model_id: str = "fake-clap"
    policy_key: str = "fake/1"

    def index_many(
        self, paths: Sequence[str], batch_size: int = 8
    ) -> Iterator[AudioIndex | CaptionFailure]:
        self.calls.append([str(p) for p in paths])
        for path in paths:
            if self.delay:
                time.sleep(self.delay)  # simulates model time (kill tests only)
            if Path(path).name in self.fail_on:
                yield CaptionFailure(str(path), "boom", "RuntimeError")
                continue
            try:
                info = sf.info(path)
            except Exception as exc:
                yield CaptionFailure(str(path), str(exc), type(exc).__name__)
                continue
            stem = Path(path).stem.lower()
            words = [w for w in WORDS if w in stem] or ["sound"]
            yield AudioIndex(
                audio_embedding=text_vector(" ".join(words)),
                tags=[KeywordScore(w, 0.4 - 0.01 * i) for i, w in enumerate(words)],
                window_policy="pad",
                policy_key=self.policy_key,
                duration_s=info.frames / info.samplerate,
                path=str(path),
            )

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([text_vector(t) for t in texts])


#: Names of the readable sounds in :func:`sound_tree` (relative to its root).
GOOD = [
    "dog bark.wav",
    "rain on roof.flac",
    "Foley/door slam.wav",
    "Foley/ünïcödé bird 鳥.wav",
    "Foley/line\nbreak thunder.wav",
    "=HYPERLINK(evil) engine.wav",
    "stereo wind.aiff",
]


def make_sound_tree(root: Path) -> Path:
    """Good files with odd names plus broken ones: empty, truncated, not audio, loops."""
    (root / "Foley").mkdir(parents=True)
    for i, rel in enumerate(GOOD):
        write_tone(
            root / rel,
            seconds=0.25 + 0.25 * i,
            freq=220.0 * (i + 1),
            channels=2 if "stereo" in rel else 1,
        )
    (root / "empty.wav").write_bytes(b"")
    full = (root / "dog bark.wav").read_bytes()
    (root / "truncated.wav").write_bytes(full[: len(full) // 3])
    (root / "header only.wav").write_bytes(full[:44])
    (root / "not audio.wav").write_bytes(b"<html>this is not audio</html>" * 50)
    (root / "notes.txt").write_text("not a sound, ignored")
    (root / ".hidden.wav").write_bytes(full)
    os.symlink("self loop.wav", root / "self loop.wav")  # a symlink pointing at itself
    os.symlink(root, root / "Foley" / "loop back")  # folder loop
    os.symlink(root / "missing target.wav", root / "dangling.wav")
    return root
