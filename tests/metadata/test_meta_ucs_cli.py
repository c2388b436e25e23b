"""``earmark ucs``: look words up in the shipped list; suggest CatIDs with the audio model alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from captioner.ucs import load_ucs
from desktop.cli import main
from tests.conftest import write_tone


def test_find_looks_words_up_in_the_shipped_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ucs", "find", "door", "wood", "--json"]) == 0
    found = [json.loads(line)["catid"] for line in capsys.readouterr().out.splitlines()]
    assert "DOORWood" in found
    assert "AIRBlow" not in found
    assert main(["ucs", "find", "zzqxnotaword"]) == 1
    assert "no UCS subcategory matches" in capsys.readouterr().err


def test_suggest_never_loads_the_llm(
    tiny_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tone = write_tone(tmp_path / "tone.wav", 1.0, freq=440.0)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt nonsense")
    args = ["--clap", str(tiny_models / "clap"), "--llm", str(tmp_path / "no-such-llm")]
    code = main(["ucs", "suggest", str(tone), str(broken), "--top", "4", "--json", *args])
    out = capsys.readouterr()
    assert code == 1  # the broken file failed; the good one was still served
    assert "broken.wav" in out.err
    (record,) = [json.loads(line) for line in out.out.splitlines()]
    assert record["path"] == str(tone)
    catids = {e.catid for e in load_ucs().entries}
    scores = [s["score"] for s in record["suggestions"]]
    assert len(scores) == 4 and scores == sorted(scores, reverse=True)
    assert all(s["catid"] in catids for s in record["suggestions"])
