"""``earmark caption`` and ``earmark models`` with the tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from captioner.prompt import article_for
from captioner.testing.tiny_models import main as tiny_main
from captioner.vocabulary import load_vocabulary
from desktop.cli import main


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models gain nothing from threads; on a shared busy machine threads only wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def model_args(tiny_models: Path) -> list[str]:
    return ["--clap", str(tiny_models / "clap"), "--llm", str(tiny_models / "llm")]


def test_caption_json_line_with_paper_prompt(tiny_models: Path, tone: Path, capsys) -> None:
    rc = main(["caption", str(tone), "--json", "--preset", "paper", *model_args(tiny_models)])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["path"] == str(tone) and rec["caption"]
    kws = [k["keyword"] for k in rec["keywords"]]
    assert len(kws) == 2 and set(kws) <= set(load_vocabulary(None).keywords)
    assert rec["prompt"] == (
        f"Objects: {kws[0]}, and {article_for(kws[1])} {kws[1]}. This is a sound of "
    )
    assert rec["model"] == {"clap": str(tiny_models / "clap"), "llm": str(tiny_models / "llm")}
    assert rec["params"]["beta"] == 0.5 and rec["params"]["k"] == 45
    assert rec["timings_s"]["total"] > 0


def test_bad_files_never_stop_the_others(tiny_models: Path, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    truncated = tmp_path / "trunc.wav"
    sf.write(str(truncated), np.zeros(16000, np.float32), 16000)
    truncated.write_bytes(truncated.read_bytes()[:30])  # cut inside the header
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"ID3 but not really" * 20)
    nan = tmp_path / "nan.wav"
    sf.write(str(nan), np.full(500, np.nan, np.float32), 16000, subtype="FLOAT")
    good = tmp_path / "good.wav"
    sf.write(str(good), np.random.default_rng(0).normal(0, 0.1, 8000).astype(np.float32), 16000)
    files = [empty, truncated, fake, nan, good]
    rc = main(
        ["caption", *map(str, files), "--json", "--batch-size", "2", *model_args(tiny_models)]
    )
    assert rc == 1
    recs = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["path"] for r in recs] == [str(f) for f in files]
    assert all("error" in r for r in recs[:4])
    assert "caption" in recs[4]


def test_plain_output_and_overrides(tiny_models: Path, tone: Path, capsys) -> None:
    rc = main(["caption", str(tone), "--set", "l=3", *model_args(tiny_models)])
    assert rc == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{tone}: ") and out.count(",") >= 2  # three keywords listed


def test_clear_errors_for_missing_model_and_bad_setting(tiny_models: Path, tone: Path) -> None:
    with pytest.raises(SystemExit) as err:
        main(["caption", str(tone), "--clap", "org/absent", "--llm", str(tiny_models / "llm")])
    assert "earmark models download org/absent" in str(err.value.code)
    with pytest.raises(SystemExit) as err:
        main(["caption", str(tone), "--set", "betta=1", *model_args(tiny_models)])
    assert "unknown setting 'betta'" in str(err.value.code)


def test_models_status(tiny_models: Path, capsys) -> None:
    assert main(["models", "status", str(tiny_models / "llm")]) == 0
    assert "present" in capsys.readouterr().out
    assert main(["models", "status", "--json", "org/absent"]) == 1
    rec = json.loads(capsys.readouterr().out)
    assert rec == {"ref": "org/absent", "present": False, "path": None, "size_bytes": None}


def test_tiny_models_module_usage(capsys) -> None:
    assert tiny_main([]) == 2
