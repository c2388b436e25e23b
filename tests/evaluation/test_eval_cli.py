"""``earmark eval`` end to end with the tiny random-weight models, both dataset layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.evaluation.metrics import METRIC_NAMES, is_unavailable

# Every test here that loads the tiny models shares one data folder (keyword-embedding cache).
pytestmark = pytest.mark.usefixtures("shared_home")


def _models(tiny_models: Path) -> list[str]:
    return [
        "--clap",
        str(tiny_models / "clap"),
        "--llm",
        str(tiny_models / "llm"),
        "--device",
        "cpu",
    ]


def _check_metrics(metrics: dict[str, object]) -> None:
    assert list(metrics) == list(METRIC_NAMES)
    for name, value in metrics.items():
        if is_unavailable(value):
            assert str(value).startswith("unavailable: ") and len(str(value)) > 20, name
        else:
            assert isinstance(value, float), name
            # CIDEr-D (and SPIDEr with it) is on coco-caption's 0-10 scale; on a 2-clip corpus
            # its IDF weights make even random captions exceed 1. The others are in [0, 1].
            top = 10.0 if name in ("CIDEr-D", "SPIDEr") else 1.0
            assert 0.0 <= value <= top, (name, value)


def test_audiocaps_end_to_end_and_resume(
    tiny_models: Path,
    audiocaps_set: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    captions, audio = audiocaps_set
    out = tmp_path / "run"
    argv = [
        "eval",
        "--dataset",
        "audiocaps",
        "--captions",
        str(captions),
        "--audio-dir",
        str(audio),
    ]
    argv += ["--out", str(out), *_models(tiny_models)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "1 of 4 clips have no audio file" in err and "[3/3]" in err
    assert sorted(p.name for p in out.iterdir()) == [
        "metrics.json",
        "predictions.jsonl",
        "report.md",
    ]
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["clip_id"] for r in records] == ["abcDEF_12-x_30000", "zzz111_0", "q9_12500"]
    assert all(isinstance(r["caption"], str) and r["caption"].strip() for r in records)
    assert all(len(r["keywords"]) == 2 for r in records)  # default l = 2
    payload = json.loads((out / "metrics.json").read_text())
    _check_metrics(payload["metrics"])
    assert payload["clips"] == {
        "total_in_file": 4, "evaluated": 4, "scored": 3, "missing_audio": 1, "failed": 0,
        "not_predicted": 0,
    }  # fmt: skip
    assert payload["missing_audio_clips"] == ["gone_10000"]
    assert payload["run"]["models"]["clap"] == str(tiny_models / "clap")
    assert payload["run"]["models"]["device"] == "cpu"
    report = (out / "report.md").read_text()
    assert "ZerAuCap (paper), AudioCaps test, 975 clips | 44.8 |" in report
    assert "Earmark (this run), 3 clips" in report and "gone_10000" in report

    # Run again: everything is already there, nothing is captioned twice.
    assert main(argv) == 0
    assert "[1/" not in capsys.readouterr().err
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 3

    # Other settings into the same folder: refused, file untouched.
    assert main([*argv, "--baseline", "keywords-only"]) == 2
    assert "other settings (beta 0.5 -> 0.0)" in capsys.readouterr().err
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 3

    # Score the existing predictions without models.
    rescored = tmp_path / "rescored"
    assert main(["eval", "--dataset", "audiocaps", "--captions", str(captions),
                 "--predictions", str(out / "predictions.jsonl"), "--out", str(rescored)]) == 0  # fmt: skip
    assert json.loads((rescored / "metrics.json").read_text())["metrics"] == payload["metrics"]


def test_clotho_end_to_end_paper_preset(
    tiny_models: Path, clotho_set: tuple[Path, Path], tmp_path: Path
) -> None:
    captions, audio = clotho_set
    (audio / "rain, roof.wav").write_bytes(b"RIFF but not really audio")  # a broken download
    out = tmp_path / "clotho"
    argv = ["eval", "--dataset", "clotho", "--captions", str(captions), "--audio-dir", str(audio)]
    assert main([*argv, "--preset", "paper", "--out", str(out), *_models(tiny_models)]) == 0
    payload = json.loads((out / "metrics.json").read_text())
    _check_metrics(payload["metrics"])
    assert payload["clips"]["scored"] == 2 and payload["missing_audio_clips"] == ["birds_gone.wav"]
    assert [f["clip_id"] for f in payload["failed_clips"]] == ["rain, roof.wav"]
    assert payload["failed_clips"][0]["error"]  # the engine's one-line reason
    assert payload["run"]["params"]["window_policy"] == "random-crop"
    assert "Clotho evaluation, 1045 clips | – | – | – | 2.9 |" in (out / "report.md").read_text()


def test_sweep_with_baseline_writes_one_table(
    tiny_models: Path, audiocaps_set: tuple[Path, Path], tmp_path: Path
) -> None:
    captions, audio = audiocaps_set
    out = tmp_path / "sweep"
    argv = [
        "eval",
        "--dataset",
        "audiocaps",
        "--captions",
        str(captions),
        "--audio-dir",
        str(audio),
    ]
    argv += ["--limit", "2", "--baseline", "keywords-only", "--sweep", "l=0,1", "--out", str(out)]
    assert main([*argv, *_models(tiny_models)]) == 0
    table = (out / "sweep.md").read_text()
    assert "| l | clips | B1 |" in table
    assert "\n| 0 | 2 |" in table and "\n| 1 | 2 |" in table
    for name, l_value in (("l=0", 0), ("l=1", 1)):
        payload = json.loads((out / "runs" / name / "metrics.json").read_text())
        assert payload["run"]["params"]["l"] == l_value and payload["run"]["params"]["beta"] == 0.0
        assert payload["baseline"] == "keywords-only"
        assert "beta = 0, keywords only (paper)" in (out / "runs" / name / "report.md").read_text()
        _check_metrics(payload["metrics"])
    rows = json.loads((out / "sweep.json").read_text())["runs"]
    assert [r["settings"] for r in rows] == [{"l": "0"}, {"l": "1"}]


def test_bad_options_fail_before_loading_models(
    audiocaps_set: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    captions, audio = audiocaps_set
    base = [
        "eval",
        "--dataset",
        "audiocaps",
        "--captions",
        str(captions),
        "--audio-dir",
        str(audio),
    ]
    # Models that do not exist: any of these reaching the model load would fail differently.
    models = ["--clap", str(tmp_path / "no-clap"), "--llm", str(tmp_path / "no-llm")]
    cases = [
        ([*base, *models], "--out is required"),
        ([*base, "--out", str(tmp_path), "--baseline", "no-audio", "--set", "l=3", *models],
         "fixes l"),
        ([*base, "--out", str(tmp_path), "--sweep", "nope=1", *models], "unknown setting 'nope'"),
        ([*base, "--out", str(tmp_path), "--sweep", "beta", *models], "KEY=V1,V2"),
        ([*base, "--out", str(tmp_path), "--set", "beta=-1", *models], "beta must be at least 0"),
        ([*base[:-1], str(tmp_path / "none"), "--out", str(tmp_path), *models],
         "audio folder not found"),
    ]  # fmt: skip
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, message
