"""The on-disk vector index: exactness, recall, consistency with the embeddings table, repair."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from desktop.library import Library
from desktop.library.vectors import (
    BuildCancelledError,
    VectorIndex,
    VectorIndexConfig,
    VectorIndexError,
    vectors_folder,
)

MODEL = "clap:fingerprint-1234"
DIM = 32
WRITER = Path(__file__).with_name("vector_writer.py")


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def clustered(n: int, dim: int = DIM, clusters: int = 40, seed: int = 0) -> np.ndarray:
    """Unit vectors in Gaussian clusters (like audio embeddings, unlike uniform noise)."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((clusters, dim)))
    labels = rng.integers(0, clusters, n)
    return unit(centres[labels] + 0.25 * rng.standard_normal((n, dim)))


class Table:
    """A library database with files and embeddings written the way the library writes them."""

    def __init__(self, path: Path) -> None:
        self.lib = Library.open(path)
        self.conn = self.lib.connection
        self.conn.execute("INSERT INTO roots(path, added_at) VALUES ('/sounds', 0)")
        self.next_id = 1

    def add(self, vectors: np.ndarray, model: str = MODEL) -> list[int]:
        ids = []
        self.conn.execute("BEGIN IMMEDIATE")
        for v in vectors:
            fid = self.next_id
            self.next_id += 1
            self.conn.execute(
                "INSERT INTO files(id, root_id, path, folder, name, ext) "
                "VALUES (?, 1, ?, '/sounds', ?, 'wav')",
                (fid, f"/sounds/{fid}.wav", f"{fid}.wav"),
            )
            self._put(fid, v, model)
            ids.append(fid)
        self.conn.execute("COMMIT")
        return ids

    def _put(self, fid: int, v: np.ndarray, model: str = MODEL) -> None:
        self.conn.execute(
            "INSERT INTO embeddings(file_id, model_id, dim, vector) VALUES (?, ?, ?, ?)",
            (fid, model, int(v.size), np.asarray(v, np.float32).tobytes()),
        )

    def replace(self, fid: int, v: np.ndarray) -> None:
        """As ``Library.save_caption`` does: DELETE + INSERT (a new rowid)."""
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("DELETE FROM embeddings WHERE file_id = ? AND model_id = ?", (fid, MODEL))
        self._put(fid, v)
        self.conn.execute("COMMIT")

    def update_in_place(self, fid: int, v: np.ndarray) -> None:
        self.conn.execute(
            "UPDATE embeddings SET vector = ? WHERE file_id = ? AND model_id = ?",
            (np.asarray(v, np.float32).tobytes(), fid, MODEL),
        )

    def delete_file(self, fid: int) -> None:
        """Removing a file cascades to its embedding (foreign key)."""
        self.conn.execute("DELETE FROM files WHERE id = ?", (fid,))

    def keys(self) -> tuple[np.ndarray, np.ndarray]:
        rows = self.conn.execute(
            "SELECT file_id, id FROM embeddings WHERE model_id = ? AND dim = ? ORDER BY file_id",
            (MODEL, DIM),
        ).fetchall()
        pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
        return pairs[:, 0], pairs[:, 1]

    def exact(self, q: np.ndarray, k: int, exclude: int | None = None) -> list[int]:
        rows = self.conn.execute(
            "SELECT file_id, vector FROM embeddings WHERE model_id = ? AND dim = ?",
            (MODEL, DIM),
        ).fetchall()
        ids = np.array([r[0] for r in rows])
        x = unit(np.stack([np.frombuffer(r[1], np.float32) for r in rows]))
        s = x @ unit(q)
        if exclude is not None:
            s[ids == exclude] = -np.inf
        return [int(i) for i in ids[np.argsort(-s, kind="stable")[:k]]]

    def close(self) -> None:
        self.lib.close()


@pytest.fixture
def table(tmp_path: Path) -> Iterator[Table]:
    t = Table(tmp_path / "library.db")
    yield t
    t.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    found = vectors_folder(tmp_path / "library.db")
    assert found is not None
    return found


def assert_consistent(index: VectorIndex, table: Table) -> None:
    ids, rowids = index.file_keys()
    want_ids, want_rowids = table.keys()
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(rowids, want_rowids)
    assert len(index) == want_ids.size


# -- exact below the threshold -----------------------------------------------------------


def test_small_index_is_exact_with_exclude_and_allowed(table: Table, folder: Path) -> None:
    x = clustered(300)
    ids = table.add(x)
    index = VectorIndex.open(folder, MODEL, DIM, VectorIndexConfig(exact_below=1000))
    report = index.sync(table.conn)
    assert report.rebuilt and report.written
    assert index.stats()["kind"] == "exact"
    rng = np.random.default_rng(1)
    for q in unit(rng.standard_normal((20, DIM))):
        got = index.search(q, 10)
        assert [i for i, _ in got] == table.exact(q, 10)
        want_scores = np.sort(x @ q)[::-1][:10]
        np.testing.assert_allclose([s for _, s in got], want_scores, atol=1e-5)
    got = index.search(x[4], 5, exclude=ids[4])
    assert ids[4] not in [i for i, _ in got]
    assert [i for i, _ in got] == table.exact(x[4], 5, exclude=ids[4])
    allowed = ids[100:150]
    got = index.search(x[120], 7, allowed=allowed)
    assert {i for i, _ in got} <= set(allowed) and got[0][0] == ids[120]
    assert np.isclose(got[0][1], 1.0, atol=1e-5)


def test_empty_and_bad_queries(table: Table, folder: Path) -> None:
    index = VectorIndex.open(folder, MODEL, DIM)
    index.sync(table.conn)
    assert len(index) == 0 and index.search(np.ones(DIM), 5) == []
    table.add(clustered(3))
    index.sync(table.conn)
    assert len(index.search(np.ones(DIM), 5)) == 3
    assert index.search(np.ones(DIM), 0) == []
    with pytest.raises(VectorIndexError, match="another model"):
        index.search(np.ones(DIM + 1), 5)


def test_rows_of_another_size_are_left_out(table: Table, folder: Path) -> None:
    table.add(clustered(5))
    table.add(clustered(2, dim=DIM * 2))
    index = VectorIndex.open(folder, MODEL, DIM)
    index.sync(table.conn)
    assert len(index) == 5


# -- recall of the graph ----------------------------------------------------------------


def test_graph_recall_on_clustered_data(table: Table, folder: Path) -> None:
    x = clustered(4000, clusters=60, seed=3)
    table.add(x[:3950])
    index = VectorIndex.open(folder, MODEL, DIM, VectorIndexConfig(exact_below=500))
    index.sync(table.conn)
    assert index.stats()["kind"] == "ann"
    hits = 0
    queries = x[3950:]  # held out: not in the index
    for q in queries:
        got = {i for i, _ in index.search(q, 10)}
        hits += len(got & set(table.exact(q, 10)))
    assert hits / (10 * len(queries)) >= 0.9
    # Scores are cosines (half-precision storage: close to float32, never above 1).
    q = x[10]
    got = index.search(q, 3)
    assert got[0][0] == 11 and abs(got[0][1] - 1.0) < 2e-3 and got[0][1] <= 1.0


def test_graph_filters_by_allowed_subset(table: Table, folder: Path) -> None:
    x = clustered(3000, seed=5)
    ids = table.add(x)
    config = VectorIndexConfig(exact_below=500, exact_subset_max=100)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    index.sync(table.conn)
    subsets = (ids[:50], ids[::3], ids[::50], np.array(ids[::7][::-1]))  # unsorted array last
    for allowed in subsets:
        for q in x[[7, 1500, 2999]]:
            got = index.search(q, 10, allowed=allowed)
            assert {i for i, _ in got} <= {int(i) for i in allowed}
            assert len(got) == min(10, len(allowed))
            scores = [s for _, s in got]
            assert scores == sorted(scores, reverse=True)
    # A subset the graph never reaches (the files least like the query): the widening
    # over-fetch gives up at max_fetch and the subset is scored exactly.
    q = x[0]
    far = [ids[i] for i in np.argsort(x @ q)[:500]]
    index.config = VectorIndexConfig(exact_below=500, exact_subset_max=100, max_fetch=200)
    got = index.search(q, 10, allowed=far)
    want = [ids[i] for i in np.argsort(-(x @ q)) if ids[i] in set(far)][:10]
    assert [i for i, _ in got] == want


# -- incremental updates ----------------------------------------------------------------


@pytest.mark.parametrize("exact_below", [10_000, 100])  # exact generation, graph generation
def test_add_replace_delete_stay_consistent(table: Table, folder: Path, exact_below: int) -> None:
    x = clustered(400, seed=7)
    ids = table.add(x[:300])
    config = VectorIndexConfig(exact_below=exact_below, delta_max=10_000)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    index.sync(table.conn)
    assert_consistent(index, table)
    new = table.add(x[300:])  # added
    table.replace(ids[0], x[399])  # replaced: file 1 now looks like the last new file
    table.update_in_place(ids[1], x[398])  # replaced in place (same rowid)
    for fid in ids[10:20]:
        table.delete_file(fid)  # removed
    table.conn.execute("UPDATE files SET path = '/elsewhere/2.wav' WHERE id = ?", (ids[2],))
    report = index.sync(table.conn)
    assert report.changed == 100 + 2 + 10 and not report.rebuilt and not report.written
    assert_consistent(index, table)
    got = [i for i, _ in index.search(x[399], 2)]
    assert set(got) == {ids[0], new[-1]}
    assert index.search(x[398], 1)[0][0] in (ids[1], new[-2])
    deleted = set(ids[10:20])
    for fid in ids[10:20]:
        assert not deleted & {i for i, _ in index.search(x[fid - 1], 10)}
    assert ids[2] in [i for i, _ in index.search(x[2], 1)]  # moved: same id, still found
    # Nothing changed: the next sync is a no-op.
    assert index.sync(table.conn).changed == 0


def test_delta_is_written_as_a_new_generation(table: Table, folder: Path) -> None:
    x = clustered(700, seed=9)
    ids = table.add(x[:500])
    config = VectorIndexConfig(exact_below=100, delta_max=100)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    index.sync(table.conn)
    first = index.stats()["generation"]
    table.add(x[500:])
    for fid in ids[:30]:
        table.delete_file(fid)
    report = index.sync(table.conn)
    assert report.written and not report.rebuilt
    stats = index.stats()
    assert stats["generation"] != first and stats["delta"] == 0 and stats["dead"] == 0
    assert_consistent(index, table)
    # The old generation's files are gone; the change log was pruned up to the new one.
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if str(first) in n]
    left = table.conn.execute(
        "SELECT count(*) FROM embedding_changes WHERE model_id = ?", (MODEL,)
    ).fetchone()[0]
    assert left == 0
    # A fresh open maps the new generation and needs nothing from the log.
    again = VectorIndex.open(folder, MODEL, DIM, config)
    assert again.sync(table.conn).changed == 0
    assert_consistent(again, table)


def test_growing_past_the_threshold_switches_to_a_graph(table: Table, folder: Path) -> None:
    x = clustered(600, seed=11)
    table.add(x[:50])
    config = VectorIndexConfig(exact_below=200, delta_max=1000)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    index.sync(table.conn)
    assert index.stats()["kind"] == "exact"
    table.add(x[50:])
    index.sync(table.conn)
    assert index.stats()["kind"] == "ann"
    assert_consistent(index, table)


def test_many_deletions_rebuild_the_graph(table: Table, folder: Path) -> None:
    x = clustered(1200, seed=13)
    ids = table.add(x)
    config = VectorIndexConfig(exact_below=100, delta_max=50, rebuild_fraction=0.1)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    index.sync(table.conn)
    for fid in ids[:200]:
        table.delete_file(fid)
    report = index.sync(table.conn)
    assert report.rebuilt == "many deletions" and report.written
    assert_consistent(index, table)


def test_other_models_are_not_mixed_in(table: Table, folder: Path) -> None:
    table.add(clustered(20))
    table.add(clustered(20, seed=2), model="other-model")
    index = VectorIndex.open(folder, MODEL, DIM)
    index.sync(table.conn)
    assert len(index) == 20
    other = VectorIndex.open(folder, "other-model", DIM)
    other.sync(table.conn)
    assert {i for i, _ in other.search(np.ones(DIM), 100)} == set(range(21, 41))


# -- staleness and repair ---------------------------------------------------------------


def test_stale_index_catches_up_through_the_log(table: Table, folder: Path) -> None:
    x = clustered(500, seed=15)
    ids = table.add(x[:300])
    config = VectorIndexConfig(exact_below=100)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    index.sync(table.conn)
    index.close()
    # Meanwhile another connection (the caption worker) writes.
    with Library.open(table.lib.path) as worker:
        worker.connection.execute("BEGIN IMMEDIATE")
        for fid in ids[:5]:
            worker.connection.execute("DELETE FROM files WHERE id = ?", (fid,))
        worker.connection.execute("COMMIT")
    table.add(x[300:])
    reopened = VectorIndex.open(folder, MODEL, DIM, config)
    assert reopened.reason.startswith("opened generation")
    report = reopened.sync(table.conn)
    assert report.changed == 205 and not report.rebuilt
    assert_consistent(reopened, table)


def _parts(folder: Path) -> dict[str, Path]:
    manifest = next(p for p in folder.glob("*.json"))
    data = json.loads(manifest.read_text())
    return {name: folder / part["file"] for name, part in data["parts"].items()}


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("truncate-graph", "truncated"),
        ("flip-graph", "checksum"),
        ("delete-keys", "missing"),
        ("garbage-manifest", "manifest"),
        ("delete-manifest", "no index"),
    ],
)
def test_damaged_index_is_detected_and_rebuilt(
    table: Table, folder: Path, damage: str, reason: str
) -> None:
    x = clustered(400, seed=17)
    table.add(x)
    config = VectorIndexConfig(exact_below=100)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    index.sync(table.conn)
    index.close()
    parts = _parts(folder)
    manifest = next(folder.glob("*.json"))
    if damage == "truncate-graph":
        with parts["graph"].open("r+b") as f:
            f.truncate(parts["graph"].stat().st_size // 3)
    elif damage == "flip-graph":
        data = bytearray(parts["graph"].read_bytes())
        data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
        parts["graph"].write_bytes(bytes(data))
    elif damage == "delete-keys":
        parts["keys"].unlink()
    elif damage == "garbage-manifest":
        manifest.write_text("{not json")
    else:
        manifest.unlink()
    again = VectorIndex.open(folder, MODEL, DIM, config)
    assert reason in again.reason
    report = again.sync(table.conn)
    assert report.rebuilt and report.written
    assert_consistent(again, table)
    assert [i for i, _ in again.search(x[3], 1)] == [4]


def test_restored_old_index_beyond_the_pruned_log_is_rebuilt(
    table: Table, folder: Path, tmp_path: Path
) -> None:
    x = clustered(600, seed=19)
    ids = table.add(x[:400])
    config = VectorIndexConfig(exact_below=100, delta_max=20)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    index.sync(table.conn)
    backup = tmp_path / "backup"
    shutil.copytree(folder, backup)
    table.add(x[400:])  # more than delta_max: a new generation, and the log is pruned
    table.delete_file(ids[0])
    assert index.sync(table.conn).written
    index.close()
    shutil.rmtree(folder)
    shutil.copytree(backup, folder)  # the user restores an old copy of the index folder
    old = VectorIndex.open(folder, MODEL, DIM, config)
    report = old.sync(table.conn)
    assert "no longer reaches" in report.rebuilt
    assert_consistent(old, table)


def test_index_of_a_replaced_database_is_rebuilt(tmp_path: Path, folder: Path) -> None:
    db = tmp_path / "library.db"
    first = Table(db)
    first.add(clustered(300, seed=21))
    first.add(clustered(300, seed=22))
    config = VectorIndexConfig(exact_below=100)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    index.sync(first.conn)
    index.close()
    first.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    second = Table(db)  # another library at the same path, a shorter change log
    second.add(clustered(250, seed=23))
    again = VectorIndex.open(folder, MODEL, DIM, config)
    report = again.sync(second.conn)
    assert report.rebuilt
    assert_consistent(again, second)
    second.close()


def test_replaced_database_with_a_longer_log_is_caught_by_the_spot_check(
    tmp_path: Path, folder: Path
) -> None:
    db = tmp_path / "library.db"
    first = Table(db)
    first.add(clustered(200, seed=24))
    config = VectorIndexConfig(exact_below=100)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    index.sync(first.conn)
    index.close()
    first.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    second = Table(db)
    second.add(clustered(150, seed=25))
    second.conn.execute("DELETE FROM files")
    second.add(clustered(200, seed=26))  # same file ids, other rows, log far past the index
    again = VectorIndex.open(folder, MODEL, DIM, config)
    report = again.sync(second.conn)
    assert report.rebuilt == "the index does not match the database"
    assert_consistent(again, second)
    second.close()


@pytest.mark.parametrize("stage", ["keys", "graph", "manifest"])
def test_killed_writer_leaves_a_usable_index(table: Table, folder: Path, stage: str) -> None:
    x = clustered(500, seed=27)
    ids = table.add(x[:400])
    config = VectorIndexConfig(exact_below=50)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    index.sync(table.conn)
    before = index.stats()["generation"]
    index.close()
    table.add(x[400:])
    table.delete_file(ids[0])
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), table.lib.path, str(folder), MODEL, str(DIM), stage],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        line = writer.stdout.readline()
        assert line.strip() == "paused", writer.stderr.read() if writer.stderr else line
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    again = VectorIndex.open(folder, MODEL, DIM, config)
    assert again.stats()["generation"] == before  # the half-written one never became current
    report = again.sync(table.conn)
    assert not report.rebuilt
    assert_consistent(again, table)
    # The next real write cleans up the dead writer's leftovers.
    table.add(clustered(30, seed=28))
    again.config = VectorIndexConfig(exact_below=50, delta_max=0)
    assert again.sync(table.conn).written
    current = again.stats()["generation"]
    stale = [
        p.name
        for p in folder.iterdir()
        if not p.name.endswith((".json", ".lock", ".tmp")) and str(current) not in p.name
    ]
    assert stale == []


def test_cancelled_build_keeps_the_old_state(table: Table, folder: Path) -> None:
    table.add(clustered(400, seed=29))
    index = VectorIndex.open(folder, MODEL, DIM, VectorIndexConfig(exact_below=10))
    with pytest.raises(BuildCancelledError):
        index.sync(table.conn, progress=lambda done, total: False)
    assert index.stats()["generation"] is None and not list(folder.glob("*.json"))
    calls: list[tuple[int, int]] = []
    index.sync(table.conn, progress=lambda done, total: calls.append((done, total)) is None)
    assert calls[-1] == (400, 400)
    assert_consistent(index, table)


def test_in_memory_index_without_a_folder(table: Table) -> None:
    x = clustered(300, seed=31)
    table.add(x)
    index = VectorIndex.open(None, MODEL, DIM, VectorIndexConfig(exact_below=100))
    assert index.sync(table.conn).rebuilt and not index.sync(table.conn).written
    assert index.search(x[0], 1)[0][0] == 1
    assert vectors_folder(":memory:") is None


def test_database_without_the_change_log_is_refused(tmp_path: Path, folder: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db")
    index = VectorIndex.open(folder, MODEL, DIM)
    with pytest.raises(VectorIndexError, match="open it once"):
        index.sync(conn)
    conn.close()


def test_reader_thread_and_writer_connection(table: Table, folder: Path) -> None:
    """One reader thread syncs and searches while the worker writes on its own connection."""
    x = clustered(900, seed=33)
    table.add(x[:300])
    config = VectorIndexConfig(exact_below=100, delta_max=40)
    index = VectorIndex.open(folder, MODEL, DIM, config)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            with Library.open(table.lib.path) as lib:
                while not stop.is_set():
                    index.sync(lib.connection)
                    got = index.search(x[0], 5)
                    assert got and got[0][0] == 1
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for start in range(300, 900, 50):
            table.add(x[start : start + 50])
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
    index.sync(table.conn)
    assert_consistent(index, table)


def test_embedding_index_uses_the_vector_index_with_a_folder(table: Table, folder: Path) -> None:
    from desktop.library.semantic import EmbeddingIndex

    x = clustered(400, seed=35)
    ids = table.add(x)
    in_memory = EmbeddingIndex(table.conn)
    on_disk = EmbeddingIndex(table.conn, folder, VectorIndexConfig(exact_below=1000))
    for q, exclude, allowed in ((x[3], None, None), (x[7], ids[7], None), (x[9], None, ids[::4])):
        want = in_memory.search(MODEL, q, 10, exclude=exclude, allowed=allowed)
        got = on_disk.search(MODEL, q, 10, exclude=exclude, allowed=allowed)
        assert [i for i, _ in got] == [i for i, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
    table.delete_file(ids[3])
    assert ids[3] not in [i for i, _ in on_disk.search(MODEL, x[3], 5)]
    assert list(folder.glob("*.json"))
    assert on_disk.search("no-such-model", x[0], 5) == []
    with pytest.raises(ValueError):
        on_disk.search(MODEL, np.ones(DIM + 3), 5)
    on_disk.invalidate()


def test_a_flood_of_changes_rebuilds_instead_of_filling_the_delta(
    table: Table, folder: Path
) -> None:
    x = clustered(500, seed=37)
    ids = table.add(x[:300])
    index = VectorIndex.open(folder, MODEL, DIM, VectorIndexConfig(exact_below=100, delta_max=10))
    index.sync(table.conn)
    for fid in ids[:100]:  # e.g. everything re-indexed with another window policy
        table.replace(fid, x[300 + fid])
    report = index.sync(table.conn)
    assert report.rebuilt == "many changes"
    assert_consistent(index, table)
