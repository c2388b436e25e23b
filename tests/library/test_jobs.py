"""The persisted queue and the job loop, with a fake captioner."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from desktop.library import JobEvent, Library, run_jobs
from desktop.library.errors import UnknownFileError
from tests.library.fakes import FakeCaptioner


@pytest.fixture
def scanned(lib: Library, sound_tree: Path) -> Library:
    lib.add_root(sound_tree)
    lib.scan()
    return lib


def test_enqueue_skips_pending_missing_broken_and_user(scanned: Library, sound_tree: Path) -> None:
    lib = scanned
    readable = lib.count_files() - len(lib.broken_files())
    assert lib.enqueue("uncaptioned") == readable
    assert lib.enqueue("uncaptioned") == 0  # never queued twice
    assert lib.enqueue("all") == 0
    broken_id = lib.broken_files()[0].id
    assert lib.enqueue([broken_id]) == 1  # an explicit pick may try a broken file
    assert lib.queue_counts().queued == readable + 1
    assert lib.cancel_queued() == readable + 1
    user_id = lib.file_id_for_path(sound_tree / "dog bark.wav")
    assert user_id is not None
    lib.set_user_caption(user_id, "my dog", ["dog"])
    assert lib.enqueue("all") == readable - 1
    lib.cancel_queued()
    assert lib.enqueue([user_id, 999_999]) == 0
    assert lib.enqueue([user_id], force=True) == 1
    assert lib.jobs("queued")[0].force is True
    with pytest.raises(ValueError):
        lib.enqueue("everything")  # type: ignore[arg-type]


def test_run_jobs_captions_fails_and_reports(scanned: Library, sound_tree: Path) -> None:
    lib = scanned
    fake = FakeCaptioner(fail_on={"stereo wind.aiff"})
    queued = lib.enqueue("uncaptioned")
    events: list[JobEvent] = []
    summary = run_jobs(lib, fake, on_event=events.append, batch_size=2)

    assert (summary.captioned, summary.failed, summary.stopped) == (queued - 1, 1, False)
    counts = lib.queue_counts()
    assert (counts.done, counts.failed, counts.pending) == (queued - 1, 1, 0)
    (failed,) = lib.jobs("failed")
    assert failed.path.endswith("stereo wind.aiff") and failed.error == "boom"
    kinds = [e.kind for e in events]
    assert kinds.count("captioned") == queued - 1 and kinds.count("failed") == 1
    assert kinds[-1] == "idle"
    progress = [e for e in events if e.kind == "progress"]
    assert [e.done for e in progress] == list(range(1, queued + 1))
    assert progress[-1].total == queued

    dog_id = lib.file_id_for_path(sound_tree / "dog bark.wav")
    assert dog_id is not None
    dog = lib.get_file(dog_id)
    assert dog is not None and dog.caption == "a dog and bark." and dog.keywords == ("dog", "bark")
    assert dog.caption_source == "model" and dog.caption_model == "fake-clap | fake-llm"
    record = lib.current_caption(dog_id)
    assert record is not None and record.keywords == (("dog", 0.5), ("bark", 0.49))
    assert record.params["params"] == {"k": 3} and record.params["window_policy"] == "pad"
    vector = lib.embedding(dog_id, "fake-clap")
    assert vector is not None and vector.dtype == np.float32
    np.testing.assert_allclose(vector, fake.embed_text(["a dog and bark."])[0], rtol=1e-6)
    assert lib.embedding_models() == [("fake-clap", queued - 1)]

    assert lib.retry_failed() == 1
    fake.fail_on.clear()
    assert run_jobs(lib, fake).captioned == 1
    assert lib.queue_counts().failed == 0
    assert lib.clear_finished() == queued and lib.jobs() == []


def test_user_caption_survives_recaption_unless_forced(scanned: Library, sound_tree: Path) -> None:
    lib = scanned
    file_id = lib.file_id_for_path(sound_tree / "rain on roof.flac")
    assert file_id is not None
    lib.enqueue([file_id])
    run_jobs(lib, FakeCaptioner())
    lib.set_user_caption(file_id, "  heavy rain on a metal roof ", ["rain", "roof\nmetal", "rain"])
    row = lib.get_file(file_id)
    assert row is not None and row.caption == "heavy rain on a metal roof"
    assert row.keywords == ("rain", "roof metal") and row.caption_source == "user"

    # Re-captioning on purpose (force) stores the model caption but keeps the user's.
    lib.enqueue([file_id], force=False)
    assert lib.queue_counts().queued == 0
    assert lib.enqueue([file_id], force=True) == 1
    caption = FakeCaptioner().caption(str(sound_tree / "rain on roof.flac"))
    lib.save_caption(file_id, caption, embedding_model_id="fake-clap", force=False)
    assert lib.get_file(file_id).caption == "heavy rain on a metal roof"  # type: ignore[union-attr]
    run_jobs(lib, FakeCaptioner())  # the forced job
    row = lib.get_file(file_id)
    assert row is not None and row.caption == "a rain." and row.caption_source == "model"
    history = lib.caption_history(file_id)
    assert [(c.source, c.current) for c in history] == [
        ("model", True),
        ("model", False),
        ("user", False),
        ("model", False),
    ]
    with pytest.raises(ValueError):
        lib.set_user_caption(file_id, "   ")
    with pytest.raises(UnknownFileError):
        lib.set_user_caption(123_456, "x")


def test_should_stop_requeues_the_rest(scanned: Library) -> None:
    lib = scanned
    queued = lib.enqueue("uncaptioned")
    fake = FakeCaptioner()
    summary = run_jobs(lib, fake, batch_size=4, should_stop=lambda: len(fake.calls) >= 2)
    assert summary.stopped and summary.captioned == 2
    counts = lib.queue_counts()
    assert (counts.done, counts.running, counts.queued) == (2, 0, queued - 2)
    assert run_jobs(lib, fake, limit=1).captioned == 1
    assert run_jobs(lib, fake).captioned == queued - 3
    assert len(fake.calls) == len(set(fake.calls)) == queued


def test_exception_from_captioner_fails_one_job_only(scanned: Library) -> None:
    class Exploding(FakeCaptioner):
        def caption_many(self, paths, batch_size=1, **_):  # type: ignore[no-untyped-def]
            raise RuntimeError("model crashed")

    lib = scanned
    lib.enqueue("uncaptioned")
    summary = run_jobs(lib, Exploding(), limit=2)
    assert summary.failed == 2 and lib.queue_counts().running == 0
    assert "model crashed" in (lib.jobs("failed")[0].error or "")


def test_stale_running_jobs_are_recovered(scanned: Library) -> None:
    lib = scanned
    lib.enqueue("uncaptioned")
    (job,) = lib.claim_jobs(1)
    assert lib.recover_stale_jobs() == 0  # our own run is alive
    # A claim in the form Earmark used before schema 5 cannot be proven alive.
    lib.connection.execute(
        "UPDATE jobs SET worker = ? WHERE id = ?", (f"{os.uname().nodename}:1", job.id)
    )
    assert lib.recover_stale_jobs() == 1
    assert lib.queue_counts().running == 0


def test_save_caption_is_atomic(scanned: Library, sound_tree: Path) -> None:
    lib = scanned
    file_id = lib.file_id_for_path(sound_tree / "dog bark.wav")
    assert file_id is not None
    lib.enqueue([file_id])
    (job,) = lib.claim_jobs()
    caption = FakeCaptioner().caption(str(sound_tree / "dog bark.wav"))
    caption.audio_embedding = np.array([np.nan, 1.0], np.float32)
    with pytest.raises(ValueError):
        lib.save_caption(file_id, caption, embedding_model_id="m", job_id=job.id)
    assert lib.caption_history(file_id) == [] and lib.jobs("running")[0].id == job.id
    caption.audio_embedding = np.ones(4, np.float32)
    lib.connection.execute(
        "CREATE TEMP TRIGGER explode BEFORE INSERT ON embeddings BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(Exception, match="disk full"):
        lib.save_caption(file_id, caption, embedding_model_id="m", job_id=job.id)
    row = lib.get_file(file_id)
    assert row is not None and row.caption is None and lib.caption_history(file_id) == []
    assert lib.jobs("running")[0].id == job.id
