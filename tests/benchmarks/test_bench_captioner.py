"""Smoke test of the captioner benchmark on the tiny models: the JSON has every figure.

Timings are never asserted (they depend on the machine); what is checked is that each part ran,
produced sane numbers, and that the reference loop chose the same tokens as Earmark.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

import pytest

# The benchmarks folder is not an installed package: import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import bench_captioner

STEPS = 3


@pytest.fixture(scope="module")
def result(tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "captioner-cpu.json"
    code = bench_captioner.main(
        [
            "--device", "cpu", "--steps", str(STEPS), "--repeats", "1", "--floor-rounds", "1",
            "--batch-sizes", "1,2",
            "--tiny-models", str(tiny_models), "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8"))


def _positive(x: object) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_headline_figures(result: dict) -> None:
    for key in ("ratio_to_floor", "speedup_vs_reference", "speedup_vs_reference_step"):
        assert _positive(result[key]), key
    assert set(result["clips_per_s"]) == {"1", "2"}
    assert all(_positive(v) for v in result["clips_per_s"].values())
    assert _positive(result["per_clip_s"]["earmark_batch1"])
    assert _positive(result["per_clip_s"]["reference"])
    assert _positive(result["per_clip_s"]["floor"])
    assert set(result["goals"]) >= {"ratio_to_floor_met", "speedup_vs_reference_met"}


def test_ratio_is_computed_from_the_parts(result: dict) -> None:
    floor, earmark = result["floor"], result["earmark"]
    samples = result["ratio_to_floor_samples"]
    assert len(samples) == 1  # one timed round per --repeats
    assert result["ratio_to_floor"] == pytest.approx(statistics.median(samples), abs=1e-4)
    # With one round the ratio is exactly Earmark's step over the sum of the floor parts.
    assert samples[0] == pytest.approx(
        earmark["step_samples_s"][0]
        / (floor["llm_step_samples_s"][0] + floor["text_encoder_samples_s"][0]),
        rel=0.01,
    )
    assert floor["text_strings"] == 45
    assert floor["text_tokens_per_string"] >= 3  # <s>, at least one word, </s>
    parts = earmark["profile_breakdown_ms"]
    assert parts["step_ms"] >= parts["text_forward_ms"] + parts["llm_forward_ms"] > 0
    assert parts["other_ms"] >= 0
    assert _positive(result["ratio_to_floor_in_profiled_step"])


def test_fixed_length_and_same_tokens_as_reference(result: dict) -> None:
    assert result["settings"]["steps"] == STEPS
    assert result["earmark"]["tokens"] == STEPS
    assert len(result["earmark"]["per_step_s"]) == STEPS
    assert result["earmark"]["stop_reason"] == "max-length"
    assert result["earmark"]["step_decided_early_fired"] is True
    assert result["reference"]["tokens"] == STEPS
    # The reference differs in cost only: it must choose exactly Earmark's tokens.
    assert result["reference"]["same_caption_as_earmark"] is True
    for b, entry in result["throughput"].items():
        assert entry["clips"] == int(b)
        assert entry["tokens_per_clip"] == [STEPS] * int(b)


def test_machine_memory_and_speed_modes(result: dict) -> None:
    machine = result["machine"]
    for key in ("cpu_model", "cpu_cores", "torch_threads", "torch_version"):
        assert machine[key], key
    assert _positive(result["earmark"]["peak_memory"]["peak_rss_gib"])
    assert _positive(result["throughput"]["2"]["peak_memory"]["peak_rss_gib"])
    modes = result["speed_modes"]
    assert modes["replay_consistent"] is True
    for name in ("int8_text_encoder", "k=20"):
        assert _positive(modes[name]["step_s"]), name
        assert _positive(modes[name]["step_speedup"]), name
        assert 0 <= modes[name]["differing_steps"] <= STEPS
    assert "synthetic" in result and result["synthetic"]["weights"]
