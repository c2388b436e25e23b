"""The index stage: every sound searchable by description and tags before any caption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.library import FileQuery, Library, run_index_jobs, run_jobs
from tests.conftest import write_tone
from tests.library.fakes import FakeCaptioner, FakeIndexer

HERE = Path(__file__).parent
NAMES = ["dog bark", "rain roof", "door slam", "thunder storm", "bird song", "engine idle"]


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    folder = tmp_path / "sounds"
    folder.mkdir()
    for i, name in enumerate(NAMES):
        write_tone(folder / f"{name}.wav", seconds=0.05, freq=200.0 + 40 * i)
    with Library.open(tmp_path / "lib.db") as library:
        library.add_root(folder)
        library.scan()
        yield library


def test_indexed_files_are_searchable_by_tags_and_description_without_captions(
    lib: Library,
) -> None:
    indexer = FakeIndexer()
    assert lib.enqueue_unindexed(indexer.embedding_model_id, indexer.policy_key) == 6
    summary = run_index_jobs(lib, indexer, batch_size=4)
    assert summary.indexed == 6 and summary.failed == 0
    assert [len(c) for c in indexer.calls] == [4, 2]  # batches of several files
    assert lib.count_files(FileQuery(captioned=True)) == 0  # nothing was captioned
    assert [h.file.name for h in lib.search("thunder")] == ["thunder storm.wav"]  # a tag
    hits = lib.search("a dog", mode="semantic", embed_text=indexer.embed_text, model_id="fake-clap")
    assert hits[0].file.name == "dog bark.wav" and hits[0].file.caption is None
    row = lib.list_files(FileQuery(text="door"))[0]
    assert lib.tags_of(row.id) == [("door", pytest.approx(0.4))]
    assert lib.similar(row.id)  # find similar works on indexed files
    assert lib.enqueue_unindexed("fake-clap", "fake/1") == 0  # all indexed
    assert lib.enqueue_unindexed("fake-clap", "other/2") == 6  # another window policy


def test_captions_reuse_the_stored_index(lib: Library) -> None:
    indexer = FakeIndexer()
    lib.enqueue_unindexed(indexer.embedding_model_id, indexer.policy_key)
    run_index_jobs(lib, indexer)
    captioner = FakeCaptioner()
    lib.enqueue("uncaptioned")
    run_jobs(lib, captioner, batch_size=3)
    assert len(captioner.reused) == 6  # no second audio pass
    other = FakeCaptioner(policy_key="other/2")
    lib.enqueue("all", force=True)
    run_jobs(lib, other)
    assert other.reused == []  # different window policy: embedded again


def test_a_failing_file_fails_its_job_and_the_rest_are_indexed(lib: Library) -> None:
    indexer = FakeIndexer(fail_on={"door slam.wav"})
    lib.enqueue_unindexed("fake-clap")
    summary = run_index_jobs(lib, indexer)
    assert (summary.indexed, summary.failed) == (5, 1)
    assert lib.queue_counts("index").failed == 1 and lib.queue_counts("caption").queued == 0


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_during_indexing_then_rerun_indexes_every_file_exactly_once(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    n = 40
    for i in range(n):
        write_tone(folder / f"dog {i:02d}.wav", seconds=0.02, freq=150.0 + 11 * i)
    db = tmp_path / "lib.db"
    with Library.open(db) as lib:
        lib.add_root(folder)
        lib.scan()
        assert lib.enqueue_unindexed("fake-clap", "fake/1") == n
    for kill_after in (5, 17):
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "index_worker.py"), str(db), "0.02"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        seen = 0
        for line in proc.stdout:
            if line.startswith("indexed"):
                seen += 1
                if seen == kill_after:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
        proc.wait(timeout=60)
    proc = subprocess.run(
        [sys.executable, str(HERE / "index_worker.py"), str(db), "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    with Library.open(db) as lib:
        assert lib.integrity_check() == "ok"
        counts = lib.queue_counts("index")
        assert (counts.done, counts.running, counts.queued, counts.failed) == (n, 0, 0, 0)
        per_file = dict(
            lib.connection.execute("SELECT file_id, count(*) FROM embeddings GROUP BY file_id")
        )
        assert len(per_file) == n and set(per_file.values()) == {1}
        tags = lib.connection.execute("SELECT count(DISTINCT file_id) FROM file_tags").fetchone()
        assert tags[0] == n
