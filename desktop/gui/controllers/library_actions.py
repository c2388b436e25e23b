"""Library actions: adding sounds, rescanning, removing, exporting, and the sidebar snapshot.

Scans, drops and exports run on the pool (each task opens its own connection); removals go
through the writer. Removing files asks first and says what would be forgotten (how many
descriptions, how many written by the person); the files on disk are never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.gui import background
from desktop.gui.asking import CANCEL, Asker, Choice, Question
from desktop.gui.file_actions import copy_captions, reveal_in_file_manager
from desktop.gui.formatting import describe_error, impact_text
from desktop.gui.tasks import TaskContext, TaskHandle, TaskResult, TaskRunner
from desktop.gui.writer import LibraryWriter, WriteOp
from desktop.library import FileQuery, FileRow, Library, RemovalImpact, ScanProgress

log = logging.getLogger(__name__)

__all__ = ["LibraryActions"]

#: Files between two scan progress reports (keeps queued signal traffic small).
_PROGRESS_EVERY = 200


class LibraryActions(QObject):
    """What the person does to the library as a whole.

    Signals:
        filesAdded(list[int]): files were added and queued (captioning should start).
        libraryChanged(): many rows changed (the table re-reads).
        snapshotReady(LibrarySnapshot): fresh sidebar, queue and counts.
        scanningChanged(bool): a scan started or ended.
        info(message), problem(message).
    """

    filesAdded = Signal(object)
    libraryChanged = Signal()
    snapshotReady = Signal(object)
    scanningChanged = Signal(bool)
    info = Signal(str)
    problem = Signal(str)

    def __init__(
        self,
        library: Library,
        runner: TaskRunner,
        writer: LibraryWriter,
        asker: Asker,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._runner = runner
        self._writer = writer
        self._asker = asker
        self._db = writer.db_path
        self._scan: TaskHandle | None = None
        self._closing = False
        self._snapshot_timer = QTimer(self)
        self._snapshot_timer.setSingleShot(True)
        self._snapshot_timer.setInterval(300)  # coalesce bursts of per-file events
        self._snapshot_timer.timeout.connect(self.refresh_snapshot)

    # -- adding and scanning ---------------------------------------------------------------

    @Slot(object)
    def add_paths(self, paths: Sequence[str]) -> None:
        """Add files/folders (scanned on the pool) and queue them."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        self.info.emit(f"Adding {len(paths)} item(s)…")
        db = self._db

        def work(_ctx: TaskContext[None]) -> background.AddResult:
            return background.add_and_queue(db, paths)

        def done(result: TaskResult[background.AddResult]) -> None:
            if result.error is not None or result.value is None:
                self.problem.emit(f"Could not add: {describe_error(result.error or Exception())}")
                return
            added = result.value
            if not added.file_ids:
                self.problem.emit("Nothing was added: no sound files in what was dropped.")
                return
            self.info.emit(f"Added {len(added.file_ids):,} sound(s); {added.queued:,} queued.")
            self.libraryChanged.emit()
            self.request_snapshot()
            self.filesAdded.emit(added.file_ids)

        self._runner.run(work, done)

    @Slot()
    def rescan(self) -> None:
        """Rescan every library folder on the pool and queue what it finds new."""
        if self._scan is not None:
            self.info.emit("A scan is already running.")
            return
        db = self._db

        def work(ctx: TaskContext[tuple[int, str]]) -> background.ScanOutcome:
            def progress(p: ScanProgress) -> None:
                if p.seen % _PROGRESS_EVERY == 0:
                    ctx.report((p.seen, p.current))

            return background.scan_library(db, progress, ctx.cancelled)

        def advanced(value: tuple[int, str]) -> None:
            self.info.emit(f"Scanning… {value[0]:,} files  {value[1]}")

        self.scanningChanged.emit(True)
        self._scan = self._runner.run(work, self._scan_done, advanced)

    def _scan_done(self, result: TaskResult[background.ScanOutcome]) -> None:
        self._scan = None
        self.scanningChanged.emit(False)
        if result.error is not None or result.value is None:
            self.problem.emit(f"Scan failed: {describe_error(result.error or Exception())}")
            return
        report, queued = result.value.report, result.value.queued
        parts = [f"{report.seen:,} files", f"{report.added:,} new", f"{report.updated:,} changed"]
        if report.moved:
            parts.append(f"{report.moved:,} moved")
        if report.missing:
            parts.append(f"{report.missing:,} missing (Show -> Missing lists them)")
        if report.errors:
            parts.append(f"{report.errors:,} unreadable")
        if queued:
            parts.append(f"{queued:,} queued for captions")
        self.info.emit("Scan finished: " + ", ".join(parts))
        if report.problems:
            first = report.problems[0]
            more = f" (and {len(report.problems) - 1:,} more)" if len(report.problems) > 1 else ""
            self.problem.emit(
                f"Some folders could not be scanned: {first.path}: {first.message}{more}"
            )
        self.libraryChanged.emit()
        self.request_snapshot()
        if queued:
            self.filesAdded.emit([])

    def cancel_scan(self) -> None:
        """Stop a running scan at its next file (what it read is kept)."""
        if self._scan is not None:
            self._scan.cancel()

    def refresh_name_keys(self) -> None:
        """Refine natural sort keys other writers left plain (on the pool), then re-sort."""
        db = self._db

        def work(_ctx: TaskContext[None]) -> int:
            return background.refresh_name_keys(db)

        def done(result: TaskResult[int]) -> None:
            if result.ok and result.value:
                self.libraryChanged.emit()

        self._runner.run(work, done)

    # -- removing ------------------------------------------------------------------------------

    @Slot(object)
    def remove_files(self, rows: Sequence[FileRow]) -> None:
        """Forget files after asking (their descriptions go; the files on disk stay)."""
        ids = [r.id for r in rows]
        if not ids:
            return
        impact = self._library.removal_impact(ids)
        what = rows[0].name if len(rows) == 1 else f"{len(rows):,} files"
        question = Question(
            title="Remove from library",
            text=f"Remove {what} from the library?",
            details=(
                f"This forgets {impact_text(impact)}. The sound files on disk are not touched; "
                "a rescan of their folder adds them again, without these descriptions. This "
                "cannot be undone."
            ),
            choices=(
                Choice("remove", "Remove from library", "destructive"),
                Choice(CANCEL, "Cancel", "reject"),
            ),
        )

        def answered(key: str) -> None:
            if key == "remove":
                self._remove(WriteOp("remove_files", {"file_ids": ids}), f"{len(ids):,} file(s)")

        self._asker.ask(question, answered)

    def remove_roots(self, root_ids: Sequence[int]) -> None:
        """Forget library folders (already confirmed in the settings dialog)."""
        if root_ids:
            op = WriteOp("remove_roots", {"root_ids": [int(i) for i in root_ids]})
            self._remove(op, f"{len(root_ids)} library folder(s)")

    def _remove(self, op: WriteOp, what: str) -> None:
        def done(result: TaskResult[object]) -> None:
            if result.error is not None:
                self.problem.emit(f"Nothing was removed: {describe_error(result.error)}")
                return
            self.info.emit(f"Removed {what} from the library.")
            self.libraryChanged.emit()
            self.request_snapshot()

        self._writer.submit(op, done)

    def load_root_impacts(self, then: Callable[[dict[int, RemovalImpact]], None]) -> None:
        """Read what removing each library folder would forget; ``then(impacts)`` gets it."""
        db = self._db

        def work(_ctx: TaskContext[None]) -> dict[int, RemovalImpact]:
            return background.root_impacts(db)

        def done(result: TaskResult[dict[int, RemovalImpact]]) -> None:
            impacts = result.value if result.ok and result.value is not None else {}
            then(impacts)

        self._runner.run(work, done)

    # -- exporting and small things ------------------------------------------------------------

    def export(
        self, path: Path, query: FileQuery | None, file_ids: list[int] | None, bom: bool
    ) -> None:
        """Write a CSV on the pool; reports in the status bar (failures stay on screen)."""
        db = self._db

        def work(_ctx: TaskContext[None]) -> int:
            return background.export_rows(db, path, query=query, file_ids=file_ids, bom=bom)

        def done(result: TaskResult[int]) -> None:
            if result.error is not None:
                self.problem.emit(f"Export failed: {describe_error(result.error)}")
            else:
                self.info.emit(f"Exported {result.value or 0:,} rows to {path}")

        self._runner.run(work, done)

    @Slot(object)
    def reveal(self, row: FileRow) -> None:
        """Show the file in the system file manager."""
        if not reveal_in_file_manager(row.path):
            self.problem.emit(f"Could not open the folder of {row.name}.")

    @Slot(object)
    def copy_descriptions(self, rows: Sequence[FileRow]) -> None:
        """Put the descriptions on the clipboard."""
        text = copy_captions(rows)
        self.info.emit(f"Copied {len(text.splitlines()):,} description(s).")

    # -- snapshot ------------------------------------------------------------------------------

    @property
    def snapshot_pending(self) -> bool:
        """True while a requested snapshot has not been started yet (coalescing)."""
        return self._snapshot_timer.isActive()

    @Slot()
    def request_snapshot(self) -> None:
        """Refresh the sidebar and the queue soon (bursts of requests are coalesced)."""
        if not self._closing:
            self._snapshot_timer.start()

    @Slot()
    def refresh_snapshot(self) -> None:
        """Reload the sidebar counts and the queue off the GUI thread, now."""
        if self._closing:
            return
        db = self._db

        def work(_ctx: TaskContext[None]) -> background.LibrarySnapshot:
            return background.load_snapshot(db)

        def done(result: TaskResult[background.LibrarySnapshot]) -> None:
            if self._closing:
                return
            if result.error is not None:
                log.info("snapshot failed: %s", result.error)
                return
            self.snapshotReady.emit(result.value)

        self._runner.run(work, done)

    def shutdown(self) -> None:
        """Stop a running scan; late results are ignored."""
        self._closing = True
        self._snapshot_timer.stop()
        self.cancel_scan()
