"""predictions.jsonl: resume, interrupted writes, changed settings, scoring existing files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _eval_helpers import FakeCaptioner

from desktop.evaluation.datasets import load_dataset
from desktop.evaluation.errors import EvaluationError
from desktop.evaluation.predictions import PredictionStore, RunIdentity, read_predictions
from desktop.evaluation.runner import evaluate, run_identity, score_predictions
from desktop.evaluation.sweep import grid, parse_sweep, run_dir_name, run_sweep

IDENT = RunIdentity({"beta": 0.5, "l": 2}, {"clap": "c", "llm": "o", "vocabulary": "audioset"})


def test_store_resumes_and_retries_failures(tmp_path: Path) -> None:
    path = tmp_path / "predictions.jsonl"
    with PredictionStore.open(path, IDENT) as store:
        store.append("a", audio="a.wav", caption="a dog barks.")
        store.append("b", audio="b.wav", error="not audio")
    store = PredictionStore.open(path, IDENT)
    assert store.is_done("a") and not store.is_done("b")
    assert set(store.failures) == {"b"}
    store.append("b", audio="b.wav", caption="rain.")
    store.close()
    again = PredictionStore.open(path, IDENT)
    assert set(again.captions) == {"a", "b"} and not again.failures
    assert [r["clip_id"] for r in read_predictions(path)] == ["a", "b", "b"]


def test_half_written_last_line_is_dropped_then_appending_works(tmp_path: Path) -> None:
    path = tmp_path / "predictions.jsonl"
    with PredictionStore.open(path, IDENT) as store:
        store.append("a", audio="a.wav", caption="one.")
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"clip_id": "b", "capt')  # the process died mid-write
    assert [r["clip_id"] for r in read_predictions(path)] == ["a"]
    with PredictionStore.open(path, IDENT) as store:
        assert not store.is_done("b")
        store.append("b", audio="b.wav", caption="two.")
    assert [r["clip_id"] for r in read_predictions(path)] == ["a", "b"]


def test_damaged_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "predictions.jsonl"
    path.write_text('{"clip_id": "a", "caption": "x"}\nnot json\n{"clip_id": "b"}\n')
    with pytest.raises(EvaluationError, match="line 2 is not a prediction"):
        read_predictions(path)


def test_changed_settings_refused_or_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "predictions.jsonl"
    with PredictionStore.open(path, IDENT) as store:
        store.append("a", audio="a.wav", caption="one.")
    other = RunIdentity({"beta": 0.0, "l": 2}, IDENT.models)
    with pytest.raises(EvaluationError, match=r"other settings \(beta 0.5 -> 0.0\).*--restart"):
        PredictionStore.open(path, other)
    assert path.read_text().count("\n") == 1  # untouched
    store = PredictionStore.open(path, other, restart=True)
    assert not store.is_done("a") and not path.exists()
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("predictions.")]
    assert len(aside) == 1 and '"one."' in aside[0].read_text()


def test_evaluate_resumes_without_recaptioning(
    audiocaps_set: tuple[Path, Path], tmp_path: Path
) -> None:
    captions, audio = audiocaps_set
    data = load_dataset("audiocaps", captions, audio, limit=2)
    out = tmp_path / "out"
    fake = FakeCaptioner()
    first = evaluate(fake, load_dataset("audiocaps", captions, audio, limit=1), out)
    assert first.payload["clips"]["scored"] == 1 and len(fake.calls) == 1
    second = evaluate(fake, data, out)
    assert len(fake.calls) == 2  # only the clip not captioned before
    assert second.payload["clips"]["scored"] == 2
    assert len(read_predictions(out / "predictions.jsonl")) == 2
    evaluate(fake, data, out)
    assert len(fake.calls) == 2  # nothing left to do


class _Interrupted(FakeCaptioner):
    """Stops the process (Ctrl+C) when asked for its second clip."""

    def caption_many(self, sources: Any, batch_size: int = 1) -> Any:
        for number, result in enumerate(super().caption_many(sources, batch_size)):
            if number == 1:
                raise KeyboardInterrupt
            yield result


def test_interrupted_run_continues(audiocaps_set: tuple[Path, Path], tmp_path: Path) -> None:
    captions, audio = audiocaps_set
    data = load_dataset("audiocaps", captions, audio)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        evaluate(_Interrupted(), data, out)
    assert [r["clip_id"] for r in read_predictions(out / "predictions.jsonl")] == [
        "abcDEF_12-x_30000"
    ]
    fake = FakeCaptioner()
    result = evaluate(fake, data, out)
    assert [Path(c).name for c in fake.calls] == ["zzz111_0.wav", "q9_12500.wav"]
    assert result.payload["clips"]["scored"] == 3
    assert result.payload["examples"][0]["prediction"] == "a dog barks."
    assert "**a dog barks.** / A dog barks and a man speaks." in result.report_md.read_text()


def test_failed_clips_are_reported(audiocaps_set: tuple[Path, Path], tmp_path: Path) -> None:
    captions, audio = audiocaps_set
    (audio / "zzz111_0.wav").rename(audio / "zzz111_0_bad.wav")
    id_map = tmp_path / "map.csv"
    id_map.write_text(
        "id,file\nabcDEF_12-x_30000,abcDEF_12-x_30000.wav\nzzz111_0,zzz111_0_bad.wav\n"
        "q9_12500,q9_12500.wav\n"
    )
    data = load_dataset("audiocaps", captions, audio, id_map=id_map)
    result = evaluate(FakeCaptioner(), data, tmp_path / "out")
    clips = result.payload["clips"]
    assert (clips["scored"], clips["failed"], clips["missing_audio"]) == (2, 1, 1)
    assert result.payload["failed_clips"] == [{"clip_id": "zzz111_0", "error": "not audio"}]
    assert result.payload["missing_audio_clips"] == ["gone_10000"]
    report = result.report_md.read_text()
    assert "zzz111_0: not audio" in report and "gone_10000" in report


def test_score_existing_predictions(audiocaps_set: tuple[Path, Path], tmp_path: Path) -> None:
    captions, audio = audiocaps_set
    out = tmp_path / "run"
    evaluate(FakeCaptioner(), load_dataset("audiocaps", captions, audio), out)
    data = load_dataset("audiocaps", captions, None)
    rescored = score_predictions(out / "predictions.jsonl", data, tmp_path / "rescored")
    original = json.loads((out / "metrics.json").read_text())
    assert rescored.payload["metrics"] == original["metrics"]
    assert rescored.payload["clips"]["not_predicted"] == 1  # the clip without audio
    assert rescored.payload["run"]["models"]["clap"] == "fake-clap"
    clotho = tmp_path / "clotho.csv"
    clotho.write_text("file_name,caption_1\nx.wav,a sound\n")
    with pytest.raises(EvaluationError, match="right dataset and split"):
        score_predictions(out / "predictions.jsonl", load_dataset("clotho", clotho, None), tmp_path)


def test_no_audio_at_all_is_a_clear_error(audiocaps_set: tuple[Path, Path], tmp_path: Path) -> None:
    captions, _ = audiocaps_set
    empty = tmp_path / "empty"
    empty.mkdir()
    data = load_dataset("audiocaps", captions, empty)
    with pytest.raises(EvaluationError, match="no audio file found for any of the 4 clips"):
        evaluate(FakeCaptioner(), data, tmp_path / "out")
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_sweep_grid_and_table(audiocaps_set: tuple[Path, Path], tmp_path: Path) -> None:
    sweep = parse_sweep(["beta=0,0.5", "l=1,2,2"])
    assert sweep == {"beta": ["0", "0.5"], "l": ["1", "2"]}
    points = grid(sweep)
    assert [run_dir_name(p) for p in points] == [
        "beta=0_l=1",
        "beta=0_l=2",
        "beta=0.5_l=1",
        "beta=0.5_l=2",
    ]
    captions, audio = audiocaps_set
    fake = FakeCaptioner()
    rows, files = run_sweep(fake, load_dataset("audiocaps", captions, audio), tmp_path, sweep)
    assert [f.name for f in files] == ["sweep.md", "sweep.json", "sweep.csv"]
    assert len(fake.calls) == 4 * 3  # 4 grid points x 3 clips with audio
    table = (tmp_path / "sweep.md").read_text()
    assert table.count("\n| 0.5 | 2 | 3 |") == 1 and table.count("\n| 0 | 1 | 3 |") == 1
    params = [
        json.loads((tmp_path / r["run_dir"] / "metrics.json").read_text())["run"]["params"]
        for r in rows
    ]
    assert [(p["beta"], p["l"]) for p in params] == [(0.0, 1), (0.0, 2), (0.5, 1), (0.5, 2)]
    csv_lines = (tmp_path / "sweep.csv").read_text().splitlines()
    assert csv_lines[0].startswith("beta,l,run_dir,scored,BLEU_1") and len(csv_lines) == 5
    with pytest.raises(EvaluationError, match="unknown setting 'nope'"):
        run_sweep(fake, load_dataset("audiocaps", captions, audio), tmp_path, {"nope": ["1"]})
    assert "Best by CIDEr-D: **beta=" in table
    with pytest.raises(EvaluationError, match="KEY=V1,V2"):
        parse_sweep(["beta"])
    with pytest.raises(EvaluationError, match="when the models load"):
        parse_sweep(["text_int8=false,true"])


def test_run_identity_names_models_and_settings() -> None:
    ident = run_identity(FakeCaptioner())
    assert ident.models == {
        "clap": "fake-clap",
        "llm": "fake-llm",
        "vocabulary": "audioset",
        "preset": "paper",
    }
    assert ident.params["beta"] == 0.5 and ident.params["window_policy"] == "random-crop"
    assert len(ident.key) == 16
