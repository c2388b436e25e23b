"""``earmark models import-wavcaps`` and a caption through ``earmark caption --clap OUT_DIR``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from desktop.cli import main


def write_clip(path: Path, seconds: float, sample_rate: int = 44100) -> Path:
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    wave = 0.3 * np.sin(2 * np.pi * 330.0 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    wave += 0.02 * rng.standard_normal(t.size)
    sf.write(str(path), (0.5 * wave).astype(np.float32), sample_rate)
    return path


def test_import_then_caption_with_the_imported_model(
    tmp_path: Path,
    scaled_checkpoint: Path,
    bert_tokenizer: Path,
    tiny_models: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "wavcaps-htsat-bert"
    code = main(
        [
            "models",
            "import-wavcaps",
            str(scaled_checkpoint),
            str(out),
            "--tokenizer",
            str(bert_tokenizer),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"imported WavCaps HTSAT-BERT into {out}" in captured.out
    assert (out / "earmark_wavcaps.json").is_file()

    clip = write_clip(tmp_path / "hum.wav", seconds=3.0)  # 44.1 kHz in, resampled to 32 kHz
    code = main(
        ["caption", "--json", "--clap", str(out), "--llm", str(tiny_models / "llm"), str(clip)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    record = json.loads(captured.out.strip().splitlines()[-1])
    assert record["path"] == str(clip)
    assert record["model"]["clap"] == str(out)
    assert record["caption"].strip()
    assert len(record["keywords"]) == record["params"]["l"]
    assert all(-1.0 <= k["score"] <= 1.0 for k in record["keywords"])
    assert record["prompt"].startswith("Objects: ")


def test_import_errors_exit_1_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    out = tmp_path / "out"
    assert main(["models", "import-wavcaps", str(bad), str(out)]) == 1
    err = capsys.readouterr().err
    assert "is not a WavCaps checkpoint (not a PyTorch checkpoint file" in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pt"]


def test_default_out_dir_is_where_the_paper_preset_looks(
    scaled_checkpoint: Path, bert_tokenizer: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from captioner.models import default_clap_for_preset

    assert (
        main(
            ["models", "import-wavcaps", str(scaled_checkpoint), "--tokenizer", str(bert_tokenizer)]
        )
        == 0
    )
    capsys.readouterr()
    folder = Path(default_clap_for_preset("paper"))
    assert (folder / "earmark_wavcaps.json").is_file()  # EARMARK_HOME is a temp dir in tests
