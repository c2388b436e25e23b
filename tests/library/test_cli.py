"""``earmark library``, ``search`` and ``export`` from the command line."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.library import Library
from tests.conftest import write_tone


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_library_end_to_end_with_tiny_models(
    tiny_models: Path, sound_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "lib.db")
    models = ["--clap", str(tiny_models / "clap"), "--llm", str(tiny_models / "llm")]
    models += ["--device", "cpu"]

    assert main(["--db", db, "library", "add", str(sound_tree), str(tmp_path / "nope")]) == 2
    out = capsys.readouterr()
    assert "5 unreadable" in out.out and "not a folder" in out.err
    assert "symlink loop" in out.err  # the folder loop is reported

    assert main(["--db", db, "library", "errors", "--json"]) == 0
    errors = _json(capsys)
    assert isinstance(errors, dict)
    unreadable = {Path(e["path"]).name: e["error"] for e in errors["unreadable"]}
    assert unreadable["empty.wav"] == "empty file (0 bytes)"
    assert unreadable["self loop.wav"] == "symlink loop"

    assert main(["--db", db, "library", "caption", "--limit", "3", *models]) == 0
    assert "captioned 3" in capsys.readouterr().out
    assert main(["--db", db, "library", "stats", "--json"]) == 0
    stats = _json(capsys)
    assert isinstance(stats, dict) and stats["captioned"] == 3 and stats["queue"]["queued"] == 5

    rc = main(["--db", db, "library", "caption", *models])
    assert rc in (0, 1)  # 1 when a file fails to decode; failures are listed below
    assert main(["--db", db, "library", "caption", *models]) == 0
    assert "nothing to caption" in capsys.readouterr().out

    with Library.open(db) as lib:
        counts = lib.queue_counts()
        assert counts.running == 0 and counts.queued == 0
        assert counts.done + counts.failed == 8  # 7 good files + the truncated one
        per_file = dict(
            lib.connection.execute("SELECT file_id, count(*) FROM captions GROUP BY file_id")
        )
        assert set(per_file.values()) == {1} and len(per_file) == counts.done
        assert lib.integrity_check() == "ok"
        vector = lib.embedding(next(iter(per_file)))
        assert vector is not None and vector.size > 0

    assert main(["--db", db, "search", "dog", "--json"]) == 0
    hits = _json(capsys)
    assert isinstance(hits, list) and Path(hits[0]["path"]).name == "dog bark.wav"
    assert hits[0]["caption"]
    assert main(["--db", db, "search", '"NEAR( -*', "--limit", "5"]) == 1  # safe, no match
    capsys.readouterr()
    rc = main(["--db", db, "search", "a dog barking", "--semantic", "--json", *models])
    assert rc == 0
    semantic = _json(capsys)
    assert isinstance(semantic, list) and len(semantic) == counts.done
    assert all(-1.0 <= h["score"] <= 1.0 for h in semantic)

    out_csv = tmp_path / "library.csv"
    assert main(["--db", db, "export", str(out_csv), "--bom"]) == 0
    with open(out_csv, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 13
    names = {r["Filename"] for r in rows}
    assert "'=HYPERLINK(evil) engine.wav" in names and "=HYPERLINK(evil) engine.wav" not in names
    described = [r for r in rows if r["Description"]]
    assert len(described) == counts.done
    assert all(r["CaptionModel"].startswith(str(tiny_models / "clap")) for r in described)

    assert main(["--db", db, "export", str(tmp_path / "dog.csv"), "--query", "dog"]) == 0
    with open(tmp_path / "dog.csv", encoding="utf-8", newline="") as handle:
        assert [r["Filename"] for r in csv.DictReader(handle)] == ["dog bark.wav"]


def test_queue_actions_and_stats(
    sound_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "lib.db")
    assert main(["--db", db, "library", "scan"]) == 2  # no library there: nothing is created
    assert "no library at" in capsys.readouterr().err and not Path(db).exists()
    assert main(["--db", db, "library", "add", str(sound_tree)]) == 0
    assert main(["--db", db, "library", "queue"]) == 0
    assert "queued 8 file(s)" in capsys.readouterr().out
    assert main(["--db", db, "library", "queue", "--all"]) == 0
    assert "queued 0 file(s)" in capsys.readouterr().out
    assert main(["--db", db, "library", "queue", "--cancel"]) == 0
    assert "cancelled 8" in capsys.readouterr().out
    assert main(["--db", db, "library", "scan"]) == 0
    assert "0 new" in capsys.readouterr().out
    assert main(["--db", db, "library", "stats"]) == 0
    text = capsys.readouterr().out
    assert "files:     13 (5 unreadable, 0 missing)" in text
    assert "queue:     0 queued, 0 running, 0 done, 0 failed" in text
    assert main(["--db", db, "search", "dog", "--semantic"]) == 2  # nothing embedded yet
    assert "run `earmark library index` first" in capsys.readouterr().err


def test_corrupt_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    assert main(["--db", str(bad), "library", "stats"]) == 2
    assert "is not an Earmark library" in capsys.readouterr().err
    assert bad.read_bytes() == b"this is not a database" * 100


def test_index_then_search_by_sound_without_the_language_model(
    tiny_models: Path, sound_tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "lib.db")
    # No language model anywhere: indexing and semantic search must never look for one.
    models = ["--clap", str(tiny_models / "clap"), "--llm", str(tmp_path / "no-llm")]
    models += ["--device", "cpu"]
    main(["--db", db, "library", "add", str(sound_tree)])
    capsys.readouterr()
    assert main(["--db", db, "search", "dog", "--semantic", *models]) == 2  # nothing indexed

    rc = main(["--db", db, "library", "index", "--batch-size", "3", *models])
    assert rc in (0, 1)  # 1 when a file fails to decode (the truncated one)
    out = capsys.readouterr().out
    with Library.open(db) as lib:
        indexed = lib.indexed_count(str(tiny_models / "clap"))
        counts = lib.queue_counts("index")
        assert indexed == counts.done > 0 and counts.queued == counts.running == 0
        assert lib.stats()["captioned"] == 0
    assert f"indexed {indexed}" in out and f"{indexed} file(s) searchable" in out
    assert main(["--db", db, "library", "index", *models]) == 0
    assert "nothing to index" in capsys.readouterr().out

    for mode in ("--semantic", "--hybrid"):
        assert main(["--db", db, "search", "a dog barking", mode, "--json", *models]) == 0
        hits = _json(capsys)
        assert isinstance(hits, list) and hits
        assert all(h["caption"] is None and -1.0 <= h["score"] <= 1.0 for h in hits)
    assert len(hits) <= indexed
    # Captioning still needs the language model, and says so.
    with pytest.raises(SystemExit, match="no-llm"):
        main(["--db", db, "library", "caption", *models])


def test_caption_after_index_reuses_the_stored_embedding(
    tiny_models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Captioning an indexed file starts from its stored embedding: the audio is not read again
    (here it could not be: its bytes are wiped after indexing, size and time kept)."""
    folder = tmp_path / "sounds"
    folder.mkdir()
    tone = write_tone(folder / "tone.wav", 1.0, freq=440.0)
    db = str(tmp_path / "lib.db")
    models = ["--clap", str(tiny_models / "clap"), "--llm", str(tiny_models / "llm")]
    models += ["--device", "cpu"]
    assert main(["--db", db, "library", "add", str(folder)]) == 0
    assert main(["--db", db, "library", "index", *models]) == 0
    with Library.open(db) as lib:
        (file_id,) = [row.id for row in lib.iter_files()]
        (stored,) = lib.stored_index([file_id], str(tiny_models / "clap"), "mean/8").values()
    stat = tone.stat()
    tone.write_bytes(bytes(stat.st_size))  # no longer a sound file
    os.utime(tone, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    capsys.readouterr()
    assert main(["--db", db, "library", "caption", *models]) == 0
    assert "captioned 1" in capsys.readouterr().out
    with Library.open(db) as lib:
        (again,) = lib.stored_index([file_id], str(tiny_models / "clap"), "mean/8").values()
        row = lib.get_file(file_id)
        assert row is not None and row.caption
    assert again.audio_embedding.tobytes() == stored.audio_embedding.tobytes()
