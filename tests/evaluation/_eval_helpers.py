"""Helpers of the evaluation tests: reference captions, WAV writer, a fake captioner."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from captioner.config import CaptionerConfig
from captioner.types import CaptionFailure, KeywordScore

#: Five references for each of four clips; the last clip has no audio file in the datasets.
REFERENCES = [
    [
        "A dog barks and a man speaks.",
        "a dog is barking while a man talks",
        "A man speaks as a dog barks.",
        "dog barking and a man talking",
        "a man talks and a dog barks loudly",
    ],
    [
        "Rain falls on a roof.",
        "heavy rain falls while thunder rumbles",
        "rain is falling steadily",
        "rain falls and thunder rumbles in the distance",
        "water drips as rain falls",
    ],
    [
        "A car engine idles, then accelerates.",
        "a vehicle engine revs and passes by",
        "a car passes by",
        "an engine idles and revs",
        "a car accelerates and drives away",
    ],
    [
        "Birds chirp in the background.",
        "birds are singing as wind blows",
        "several birds chirp",
        "birds chirping and wind blowing",
        "a bird sings",
    ],
]


def write_wav(path: Path, seconds: float = 0.5, freq: float = 440.0, rate: int = 16000) -> Path:
    """Write a short sine tone."""
    t = np.arange(int(seconds * rate)) / rate
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)
    return path


#: (youtube_id, start_time) of the AudioCaps clips; the last has no audio.
AUDIOCAPS_CLIPS = [("abcDEF_12-x", "30"), ("zzz111", "0"), ("q9", "12.5"), ("gone", "10")]


@dataclass
class FakeResult:
    """Stands in for captioner.types.Caption (only what the harness reads)."""

    text: str
    keywords: list[KeywordScore] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class FakeCaptioner:
    """Captions a file with a fixed text chosen by its name; fails for names containing 'bad'."""

    def __init__(self, config: CaptionerConfig | None = None, text: str = "a dog barks.") -> None:
        self._config = config or CaptionerConfig.preset("paper")
        self.text = text
        self.calls: list[str] = []
        self.clap_ref = "fake-clap"
        self.llm_ref = "fake-llm"

    @property
    def config(self) -> CaptionerConfig:
        return self._config

    def with_config(self, config: CaptionerConfig) -> FakeCaptioner:
        other = FakeCaptioner(config, self.text)
        other.calls = self.calls  # shared, so a test sees every call of a sweep
        return other

    def caption_many(
        self, sources: Iterable[Any], batch_size: int = 1
    ) -> Iterator[FakeResult | CaptionFailure]:
        for source in sources:
            self.calls.append(str(source))
            if "bad" in Path(str(source)).name:
                yield CaptionFailure(str(source), "not audio", "AudioDecodeError")
            else:
                yield FakeResult(self.text, [KeywordScore("Dog", 0.3)], {"total": 0.01})
