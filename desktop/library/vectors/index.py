"""``VectorIndex``: one embedding model's vectors, searchable in milliseconds at a million files.

State in memory = the current on-disk generation (memory-mapped, immutable) + a *delta*:
vectors added or replaced since it was written (searched exactly, in RAM) and *dead* positions
of the generation (deleted or replaced files, skipped). :meth:`VectorIndex.sync` brings that
state up to the ``embeddings`` table by reading the change log after the generation's
position; when the delta grows past ``delta_max`` it is folded into a new generation.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Collection
from pathlib import Path

import numpy as np

from desktop.library.vectors import _build, _table
from desktop.library.vectors._config import (
    BuildCancelledError,
    Progress,
    QueryVectorError,
    SyncReport,
    VectorIndexConfig,
    VectorIndexError,
)
from desktop.library.vectors._files import file_lock
from desktop.library.vectors._parts import Part
from desktop.library.vectors._search import (
    Delta,
    as_ids,
    positions,
    search_delta,
    search_part,
    sorted_unique,
)

__all__ = [
    "BuildCancelledError",
    "Progress",
    "QueryVectorError",
    "SyncReport",
    "VectorIndex",
    "VectorIndexConfig",
    "VectorIndexError",
]

log = logging.getLogger(__name__)

#: Pairs checked against the table when an index is first synced (see ``_table.spot_check``).
_SPOT_CHECKS = 32


class VectorIndex:
    """Cosine-similarity search over one model's rows of the ``embeddings`` table.

    Thread safety: every method takes an internal lock, so an instance may be shared, but
    calls are serialised (a long :meth:`sync` delays searches). The intended use is one
    long-lived reader thread that owns the instance, calls :meth:`sync` with its own
    connection before searching, and lets the caption/index worker write through SQLite. The
    native search and build code releases the GIL, so other threads (the GUI) keep running.
    Several processes may open the same folder: each keeps its own delta, generations are
    written under a lock file, and every generation any of them writes is consistent with
    the table at the position it records.

    Example:
        >>> index = VectorIndex.open(vectors_folder(db_path), model_id, 512)
        >>> index.sync(conn)
        >>> index.search(query_vector, 20, exclude=file_id)
    """

    def __init__(
        self, folder: Path | None, model_id: str, dim: int, config: VectorIndexConfig
    ) -> None:
        if dim <= 0:
            raise ValueError("vector size must be positive")
        self.folder = folder
        self.model_id = model_id
        self.dim = dim
        self.config = config
        self._lock = threading.RLock()
        self._part: Part | None = None
        self._file_ids = np.zeros(0, np.int64)
        self._rowids = np.zeros(0, np.int64)
        self._dead = np.zeros(0, bool)
        self._dead_count = 0
        self._delta = Delta()
        self._seq: int | None = None  # change-log position of part + delta; None: no part
        self._generation = ""
        self._kind = ""
        self._removed_since_build = 0
        self._checked = False
        self._stamp: tuple[int, int] | None = None
        self._stamp_conn: sqlite3.Connection | None = None
        self._closed = False
        self.reason = "not opened"  # why the state is what it is (for logs and tests)

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        folder: str | Path | None,
        model_id: str,
        dim: int,
        config: VectorIndexConfig | None = None,
    ) -> VectorIndex:
        """Map the model's current generation from ``folder`` (0.3-0.9 s cold at 1M vectors).

        A missing, stale, truncated or corrupt index is not an error: it is noted in
        :attr:`reason` and rebuilt or caught up by the first :meth:`sync`.

        Args:
            folder: Where the index lives (see :func:`vectors_folder`); created if needed.
                ``None`` keeps everything in memory (throwaway libraries, tests).
            model_id: The embedding model identity, as stored in ``embeddings.model_id``.
            dim: Vector size; rows of another size are left out.
            config: Build and search parameters.
        """
        path = None if folder is None else Path(folder)
        if path is not None:
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # read-only medium: still searchable, rebuilt per session
                log.warning("vector index kept in memory, %s is not writable: %s", path, exc)
                path = None
        index = cls(path, model_id, dim, config or VectorIndexConfig())
        with index._lock:
            index._map_current()
        return index

    def _map_current(self) -> bool:
        """Replace the in-memory state by the current on-disk generation, if it is usable."""
        if self.folder is None:
            self.reason = "in memory only"
            return False
        mapped, why = _build.open_current(self.folder, self.model_id, self.dim, self.config)
        if mapped is None:
            self.reason = why
            return False
        manifest, part, keys = mapped
        self._install(part, part.file_ids, keys[:, 1], manifest.log_seq, manifest.kind)
        self._generation = manifest.generation
        self._removed_since_build = int(manifest.extra.get("removed_since_build", 0))
        self._checked = False
        self.reason = f"opened generation {manifest.generation}"
        return True

    def _install(
        self, part: Part, file_ids: np.ndarray, rowids: np.ndarray, seq: int, kind: str
    ) -> None:
        if self._part is not None and self._part is not part:
            self._part.close()
        self._part = part
        self._file_ids = file_ids
        self._rowids = rowids
        self._dead = np.zeros(file_ids.size, bool)
        self._dead_count = 0
        self._delta = Delta()
        self._seq = seq
        self._kind = kind
        self._stamp = None

    # -- keeping up with the table -------------------------------------------------------

    def sync(self, conn: sqlite3.Connection, progress: Progress | None = None) -> SyncReport:
        """Catch up with the ``embeddings`` table (cheap when nothing changed).

        Reads the change log after the index's position; rebuilds from the whole table when
        there is no usable index, when the log no longer reaches back that far, or when the
        table does not match what the index recorded. Writes a new generation when enough
        changes have accumulated. Never leaves a broken index on disk: see ``_files``.

        Args:
            conn: A connection to the library database, usable from the calling thread.
            progress: Called during a rebuild; returning ``False`` cancels it (the previous
                state stays in use and :class:`BuildCancelledError` is raised).

        Raises:
            VectorIndexError: The database has no change log (an older schema).
            BuildCancelledError: ``progress`` asked to stop.
        """
        t0 = time.perf_counter()
        with self._lock:
            self._check_open()
            # data_version moves when another connection commits, total_changes when this
            # one writes: if neither moved since the last sync on it, nothing can have changed.
            stamp = (
                int(conn.execute("PRAGMA data_version").fetchone()[0]),
                int(conn.total_changes),
            )
            report = SyncReport()
            if self._stamp_conn is conn and stamp == self._stamp and self._seq is not None:
                return report
            if not _table.has_change_log(conn):
                raise VectorIndexError(
                    "this library's database predates the vector index; open it once with "
                    "this version of Earmark (the upgrade is automatic) and search again"
                )
            with _table.snapshot(conn):
                head, horizon = _table.log_position(conn, self.model_id)
                why = self._why_rebuild(conn, head, horizon)
                changed = np.zeros(0, np.int64)
                if not why and self._seq is not None and head != self._seq:
                    changed = _table.changed_files(conn, self.model_id, self._seq, head)
                    limit = self.config.rebuild_fraction * self._file_ids.size
                    if changed.size > max(4 * self.config.delta_max, limit):
                        why = "many changes"  # cheaper than holding them all in the delta
                if why:
                    self._rebuild(conn, head, why, progress, report)
                else:
                    self._catch_up(conn, head, changed, report)
            if not report.rebuilt and self._needs_compaction():
                self._compact(conn, progress, report)
            if report.written:
                assert self._seq is not None
                _table.prune_log(conn, self.model_id, self._seq)
            # Taken before reading: a commit meanwhile is seen by the next sync.
            self._stamp = stamp if not report.written else None
            self._stamp_conn = conn
        report.seconds = time.perf_counter() - t0
        if report.changed or report.rebuilt:
            log.info(
                "vector index %s: %d changed%s in %.2f s",
                self.model_id,
                report.changed,
                f", rebuilt ({report.rebuilt})" if report.rebuilt else "",
                report.seconds,
            )
        return report

    def _why_rebuild(self, conn: sqlite3.Connection, head: int, horizon: int) -> str:
        """Why the in-memory state cannot be caught up through the log (``""``: it can)."""
        if self._seq is None:
            return self.reason or "no index yet"
        if self._seq < horizon or self._seq > head:
            # Another process may have written a newer generation that the log still reaches.
            if self._map_current() and self._seq is not None and horizon <= self._seq <= head:
                return ""
            return (
                "the change log no longer reaches back to the index"
                if (self._seq is not None and self._seq < horizon)
                else "the index is newer than the database (was the database replaced?)"
            )
        if not self._checked:
            sample = np.unique(
                np.linspace(0, max(self._file_ids.size - 1, 0), _SPOT_CHECKS).astype(np.int64)
            )[: self._file_ids.size]
            self._checked = True
            if not _table.spot_check(
                conn, self.model_id, self._file_ids[sample], self._rowids[sample]
            ):
                # Rows the log says nothing about may just have changed after the index was
                # written; only a mismatch the log cannot explain means a replaced database.
                changed = _table.changed_files(conn, self.model_id, self._seq, head)
                unexplained = np.setdiff1d(self._file_ids[sample], changed)
                if not _table.spot_check(
                    conn,
                    self.model_id,
                    unexplained,
                    self._rowids[np.searchsorted(self._file_ids, unexplained)],
                ):
                    return "the index does not match the database"
        return ""

    def _catch_up(
        self, conn: sqlite3.Connection, head: int, changed: np.ndarray, report: SyncReport
    ) -> None:
        if changed.size:
            rows = _table.rows_of(conn, self.model_id, self.dim, changed)
            self._apply(changed, rows)
        report.changed += int(changed.size)
        self._seq = head

    def _apply(self, changed: np.ndarray, rows: _table.Rows) -> None:
        """Mark ``changed`` files' old vectors dead and put their current ones in the delta."""
        hit = positions(self._file_ids, changed)
        fresh = hit[~self._dead[hit]]
        self._dead[fresh] = True
        self._dead_count += int(fresh.size)
        for f in changed.tolist():
            self._delta.drop(int(f))
        for f, r, v in zip(rows.file_ids.tolist(), rows.rowids.tolist(), rows.vectors):
            self._delta.put(int(f), int(r), v)

    def _needs_compaction(self) -> bool:
        return len(self._delta.rows) + self._dead_count > self.config.delta_max or (
            self._kind == "exact" and len(self) >= self.config.exact_below
        )

    def _rebuild(
        self,
        conn: sqlite3.Connection,
        head: int,
        why: str,
        progress: Progress | None,
        report: SyncReport,
    ) -> None:
        """A new generation from the whole table (inside the caller's snapshot)."""
        log.info("building the vector index of %s: %s", self.model_id, why)
        built = _build.from_table(conn, self.model_id, self.dim, self.config, progress)
        if built is None:
            raise BuildCancelledError("building the search index was cancelled")
        self._commit(built, head, 0, report)
        report.rebuilt = why
        self.reason = f"rebuilt: {why}"

    def _compact(
        self, conn: sqlite3.Connection, progress: Progress | None, report: SyncReport
    ) -> None:
        """Fold the delta into a new generation (from memory; from the table if the graph
        has too many holes or the index changes kind)."""
        assert self._part is not None and self._seq is not None
        live = len(self)
        removed = self._removed_since_build + self._dead_count
        kind = "exact" if live < self.config.exact_below else "ann"
        degraded = removed > self.config.rebuild_fraction * max(self._file_ids.size, 1)
        if self._kind == "ann" and (kind == "exact" or degraded):
            with _table.snapshot(conn):
                head, _ = _table.log_position(conn, self.model_id)
                self._rebuild(
                    conn, head, "kind change" if kind != self._kind else "many deletions",
                    progress, report,
                )  # fmt: skip
            return
        delta_ids, delta_vectors = self._delta.matrix(self.dim)
        delta_rowids = np.fromiter(
            (r for r, _ in self._delta.rows.values()), dtype=np.int64, count=len(self._delta.rows)
        )
        built = _build.merged(
            self._part,
            self._kind,
            self._file_ids,
            self._rowids,
            self._dead,
            _table.Rows(delta_ids, delta_rowids, delta_vectors),
            self.dim,
            self.config,
        )
        self._commit(built, self._seq, removed if self._kind == "ann" else 0, report)

    def _commit(
        self, built: _build.Built, seq: int, removed_since_build: int, report: SyncReport
    ) -> None:
        """Install a built generation and, with a folder, write it to disk first."""
        part: Part = built.part
        if self.folder is not None:
            try:
                with file_lock(self.folder, self.model_id):
                    generation, files = _build.write(
                        self.folder, self.model_id, self.dim, built, seq, removed_since_build,
                        self.config,
                    )  # fmt: skip
                part = _build.reopen(files, built, self.dim, self.config)
                self._generation = generation
                report.written = True
            except OSError as exc:
                # A full disk or a read-only folder must not break search: serve from memory.
                log.warning("could not save the vector index of %s: %s", self.model_id, exc)
        self._install(part, built.file_ids, built.rowids, seq, built.kind)
        self._removed_since_build = removed_since_build
        self._checked = True
        self.reason = f"wrote generation {self._generation}" if report.written else "in memory"

    def compact(self, conn: sqlite3.Connection) -> SyncReport:
        """Catch up, then fold the delta into a new generation now (what :meth:`sync` does
        by itself past ``delta_max``), e.g. before a long idle period."""
        t0 = time.perf_counter()
        with self._lock:
            report = self.sync(conn)
            if not report.written and (self._delta.rows or self._dead_count):
                self._compact(conn, None, report)
                if report.written:
                    assert self._seq is not None
                    _table.prune_log(conn, self.model_id, self._seq)
                self._stamp = None
        report.seconds = time.perf_counter() - t0
        return report

    # -- searching ---------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return int(self._file_ids.size - self._dead_count + len(self._delta.rows))

    def search(
        self,
        query: np.ndarray,
        k: int,
        *,
        exclude: int | Collection[int] | None = None,
        allowed: Collection[int] | np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` files most similar to ``query``: ``(file_id, cosine)``, best first.

        Args:
            query: A vector of the index's size (normalised here).
            k: How many results at most.
            exclude: File id(s) never returned (Find similar excludes the file itself).
            allowed: Only these file ids may be returned (a folder, a format). A subset of up
                to ``exact_subset_max`` files is searched exactly; a larger one by
                over-fetching graph results and filtering, widening until ``k`` are found.

        Returns:
            At most ``k`` pairs; cosine similarity in [-1, 1] (vectors stored in half
            precision score within about 1e-3 of float32).

        Raises:
            QueryVectorError: ``query`` has another size than the index.
        """
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.size != self.dim:
            raise QueryVectorError(
                f"the search vector has {q.size} numbers but this index holds {self.dim}-number "
                "vectors: the search text was embedded with another model"
            )
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        with self._lock:
            self._check_open()
            if k <= 0 or len(self) == 0:
                return []
            excluded = as_ids(exclude)
            allow = None if allowed is None else sorted_unique(as_ids(allowed))
            count = k + excluded.size
            ids_a, scores_a = search_part(
                self._part, self._kind, self._dead, self._dead_count, self.config,
                q, count, allow, excluded,
            )  # fmt: skip
            ids_b, scores_b = search_delta(self._delta, self.dim, q, count, allow, excluded)
        ids = np.concatenate([ids_a, ids_b])
        scores = np.concatenate([scores_a, scores_b])
        order = np.argsort(-scores, kind="stable")[:k]
        # Half-precision storage can put a cosine a hair past 1; a score column shows <= 1.
        return [(int(ids[i]), min(1.0, max(-1.0, float(scores[i])))) for i in order]

    # -- maintenance -------------------------------------------------------------------

    def stats(self) -> dict[str, object]:
        """Counts for logs and benchmarks: kind, sizes, delta, dead, generation, position."""
        with self._lock:
            return {
                "model_id": self.model_id,
                "kind": self._kind or None,
                "count": len(self),
                "generation_count": int(self._file_ids.size),
                "delta": len(self._delta.rows),
                "dead": self._dead_count,
                "generation": self._generation or None,
                "log_seq": self._seq,
                "reason": self.reason,
            }

    def file_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """``(file_ids, embeddings rowids)`` the index holds now, by file id (for checks)."""
        with self._lock:
            live = ~self._dead
            ids = np.concatenate(
                [self._file_ids[live], np.fromiter(self._delta.rows.keys(), dtype=np.int64)]
            )
            rowids = np.concatenate(
                [
                    self._rowids[live],
                    np.fromiter((r for r, _ in self._delta.rows.values()), dtype=np.int64),
                ]
            )
        order = np.argsort(ids, kind="stable")
        return ids[order], rowids[order]

    def close(self) -> None:
        """Release the mapped files. Safe to call twice; the object is unusable afterwards."""
        with self._lock:
            if self._part is not None:
                self._part.close()
            self._part = None
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise VectorIndexError("the search index was closed")
