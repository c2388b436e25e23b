"""AudioCaps and Clotho readers: grouping, audio lookup, missing audio, bad files."""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import pytest
from _eval_helpers import REFERENCES, write_wav

from desktop.evaluation.datasets import load_dataset
from desktop.evaluation.errors import EvaluationError


def test_audiocaps_groups_rows_into_clips_with_five_references(
    audiocaps_set: tuple[Path, Path],
) -> None:
    captions, audio = audiocaps_set
    data = load_dataset("audiocaps", captions, audio)
    assert [c.clip_id for c in data.clips] == [
        "abcDEF_12-x_30000",
        "zzz111_0",
        "q9_12500",
        "gone_10000",
    ]
    assert [len(c.references) for c in data.clips] == [5, 5, 5, 5]
    assert data.clips[0].references[0] == "A dog barks and a man speaks."
    assert data.clips[2].references[4] == REFERENCES[2][4]
    assert data.clips[1].audio_path == audio / "zzz111_0.wav"
    assert [c.clip_id for c in data.missing] == ["gone_10000"]
    assert len(data.present) == 3
    assert data.total_clips == 4


def test_audiocaps_audio_named_by_audiocap_id(audiocaps_set: tuple[Path, Path]) -> None:
    captions, audio = audiocaps_set
    (audio / "zzz111_0.wav").rename(audio / "111.flac.tmp")
    (audio / "111.flac.tmp").unlink()
    write_wav(audio / "111.flac")  # audiocap_id of one of clip 2's rows
    data = load_dataset("audiocaps", captions, audio)
    assert data.by_id()["zzz111_0"].audio_path == audio / "111.flac"


def test_audiocaps_audio_named_by_video_id_only_when_unambiguous(tmp_path: Path) -> None:
    captions = tmp_path / "caps.csv"
    rows = [["audiocap_id", "youtube_id", "start_time", "caption"]]
    rows += [["1", "solo", "30", "a dog barks"], ["2", "twice", "0", "rain"]]
    rows += [["3", "twice", "20", "wind"], ["4", "other", "5", "a car"]]
    with captions.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    audio = tmp_path / "audio"
    audio.mkdir()
    for name in ("Ysolo.wav", "twice.wav", "other_5.wav"):
        write_wav(audio / name)
    by_id = load_dataset("audiocaps", captions, audio).by_id()
    assert by_id["solo_30000"].audio_path == audio / "Ysolo.wav"
    assert by_id["other_5000"].audio_path == audio / "other_5.wav"  # start time as written
    # "twice" has two clips in the file: a file named after the video alone fits neither.
    assert by_id["twice_0"].audio_path is None and by_id["twice_20000"].audio_path is None


def test_audiocaps_id_map_with_subfolders(audiocaps_set: tuple[Path, Path], tmp_path: Path) -> None:
    captions, audio = audiocaps_set
    (audio / "sub").mkdir()
    write_wav(audio / "sub" / "whatever.wav")
    id_map = tmp_path / "map.csv"
    id_map.write_text("id,file\n130,sub/whatever.wav\nq9_12500,q9_12500.wav\n", encoding="utf-8")
    data = load_dataset("audiocaps", captions, audio, id_map=id_map)
    by_id = data.by_id()
    assert by_id["gone_10000"].audio_path == audio / "sub" / "whatever.wav"  # audiocap_id 130
    assert by_id["q9_12500"].audio_path == audio / "q9_12500.wav"
    # Mapped datasets look only at the map: unmapped clips are missing, not guessed.
    assert {c.clip_id for c in data.missing} == {"abcDEF_12-x_30000", "zzz111_0"}


def test_limit_keeps_the_first_clips(audiocaps_set: tuple[Path, Path]) -> None:
    captions, audio = audiocaps_set
    data = load_dataset("audiocaps", captions, audio, limit=2)
    assert [c.clip_id for c in data.clips] == ["abcDEF_12-x_30000", "zzz111_0"]
    assert data.total_clips == 4 and not data.missing


def test_clotho_layout_and_decomposed_unicode_names(clotho_set: tuple[Path, Path]) -> None:
    captions, audio = clotho_set
    # Archives unpacked on macOS store accents decomposed (NFD).
    (audio / "café engine.wav").rename(audio / unicodedata.normalize("NFD", "café engine.wav"))
    data = load_dataset("clotho", captions, audio)
    assert [c.clip_id for c in data.clips][:3] == [
        "Dog and man.wav",
        "rain, roof.wav",
        "café engine.wav",
    ]
    assert all(len(c.references) == 5 for c in data.clips)
    assert data.clips[2].audio_path is not None
    assert [c.clip_id for c in data.missing] == ["birds_gone.wav"]


def test_wrong_layout_is_a_clear_error(clotho_set: tuple[Path, Path]) -> None:
    captions, audio = clotho_set
    with pytest.raises(EvaluationError, match="AudioCaps: missing column"):
        load_dataset("audiocaps", captions, audio)


def test_bad_inputs_are_clear_errors(audiocaps_set: tuple[Path, Path], tmp_path: Path) -> None:
    captions, audio = audiocaps_set
    with pytest.raises(EvaluationError, match="caption file not found"):
        load_dataset("audiocaps", tmp_path / "nope.csv", audio)
    with pytest.raises(EvaluationError, match="audio folder not found"):
        load_dataset("audiocaps", captions, tmp_path / "nope")
    with pytest.raises(EvaluationError, match="unknown dataset"):
        load_dataset("wavcaps", captions, audio)
    with pytest.raises(EvaluationError, match="--limit"):
        load_dataset("audiocaps", captions, audio, limit=0)
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as fh:
        csv.writer(fh).writerows(
            [["audiocap_id", "youtube_id", "start_time", "caption"], ["1", "x", "soon", "a"]]
        )
    with pytest.raises(EvaluationError, match="line 2: start_time 'soon'"):
        load_dataset("audiocaps", bad, audio)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("file_name,caption_1\ncaf\xe9.wav,x\n".encode("latin-1"))
    with pytest.raises(EvaluationError, match="not a readable UTF-8 CSV"):
        load_dataset("clotho", latin, audio)
    twice = tmp_path / "twice.csv"
    twice.write_text("file_name,caption_1\na.wav,x\nb.wav,y\na.wav,z\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"line 4: 'a\.wav' is listed twice"):
        load_dataset("clotho", twice, audio)
    empty = tmp_path / "empty_refs.csv"
    empty.write_text("file_name,caption_1,caption_2\na.wav,,\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="no reference caption"):
        load_dataset("clotho", empty, audio)


def test_no_audio_dir_skips_lookup(audiocaps_set: tuple[Path, Path]) -> None:
    captions, _ = audiocaps_set
    data = load_dataset("audiocaps", captions, None)
    assert len(data.clips) == 4 and not data.missing and not data.present
