"""``paper-released`` under ``earmark eval``: one crop stream in dataset order, across resumes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from captioner.loading import load_captioner
from desktop.evaluation.datasets import Clip
from desktop.evaluation.predictions import PredictionStore
from desktop.evaluation.runner import caption_clips, run_identity


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sweep_clip(path: Path, seconds: float, rate: int = 16000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * (150 + 400 * t) * t)).astype(np.float32), rate)
    return path


def scores(store: PredictionStore, clip_id: str) -> list[float]:
    return [k["score"] for k in store.captions[clip_id]["keywords"]]


def test_a_resumed_run_replays_the_crops_of_the_clips_it_skips(
    tiny_models: Path, tmp_path: Path
) -> None:
    def captioner():  # a fresh process: a fresh stream
        return load_captioner(
            "paper-released",
            clap=str(tiny_models / "clap"),
            llm=str(tiny_models / "llm"),
            device="cpu",
            overrides={"max_length": "22"},
        )

    # Long clips (the tiny CLAP's window is 2 s) and one without audio, which draws nothing.
    clips = [Clip(f"c{i}", ("ref",), sweep_clip(tmp_path / f"c{i}.wav", 3 + i)) for i in range(4)]
    clips.insert(2, Clip("gone", ("ref",), None))
    first = captioner()
    identity = run_identity(first)
    with PredictionStore.open(tmp_path / "full.jsonl", identity) as full:
        caption_clips(first, clips, full)

    # An interrupted run that had finished c0 and c2 (c1 failed and is retried): the resume
    # captions c1 and c3, in one batch, with c2's draw between them.
    with PredictionStore.open(tmp_path / "resumed.jsonl", identity) as resumed:
        for clip_id in ("c0", "c2"):
            record = full.captions[clip_id]
            resumed.append(
                clip_id,
                audio=record["audio"],
                caption=record["caption"],
                keywords=record["keywords"],
            )
        resumed.append("c1", audio=str(clips[1].audio_path), error="killed")
        ran = caption_clips(captioner(), clips, resumed, batch_size=2)
        assert ran == 2
        for clip_id in ("c1", "c3"):
            assert scores(resumed, clip_id) == scores(full, clip_id)
            assert resumed.captions[clip_id]["caption"] == full.captions[clip_id]["caption"]
            assert resumed.captions[clip_id]["window_policy"] == "released-crop"

    # Without the replay, the same clips would get other crops.
    with PredictionStore.open(tmp_path / "naive.jsonl", identity) as naive:
        caption_clips(captioner(), [clips[1], clips[4]], naive)
        assert scores(naive, "c1") != scores(full, "c1")
