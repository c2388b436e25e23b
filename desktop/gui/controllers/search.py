"""The search controller: which files the table shows.

A query from the search bar goes to the table at once, except a "describe the sound" search,
whose text must first be embedded by the caption worker (it owns the models): the query waits
for the vector, which is then cached, so typing the same words again is instant. "Find
similar" shows a fixed list (computed on the pool) until the person goes back to the search.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from desktop.gui import background
from desktop.gui.formatting import describe_error
from desktop.gui.tasks import TaskContext, TaskResult, TaskRunner
from desktop.library import FileQuery, FileRow, Library, SearchHit

log = logging.getLogger(__name__)

__all__ = ["SearchController"]


class SearchController(QObject):
    """Turns queries into what the table shows.

    Signals:
        queryReady(FileQuery): show the files matching this query.
        rowsReady(list[FileRow]): show exactly these rows (find similar).
        bannerChanged(text): a line over the table ("12 sounds similar to…"), "" for none.
        embeddingNeeded(text): the worker should embed this search text.
        info(message), problem(message).
    """

    queryReady = Signal(object)
    rowsReady = Signal(object)
    bannerChanged = Signal(str)
    embeddingNeeded = Signal(str)
    info = Signal(str)
    problem = Signal(str)

    def __init__(self, library: Library, runner: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self._library = library
        self._runner = runner
        self._query = FileQuery()
        self._embeddings: dict[str, np.ndarray] = {}
        self._model: str | None = None
        self._waiting_for: str | None = None

    @property
    def query(self) -> FileQuery:
        """The last query asked for."""
        return self._query

    @Slot(object)
    def set_query(self, query: FileQuery) -> None:
        """Show the files matching ``query`` (semantic text is embedded by the worker first)."""
        self._query = query
        self.bannerChanged.emit("")
        if query.text and query.mode in ("semantic", "hybrid"):
            if query.text not in self._embeddings:
                self._waiting_for = query.text
                self.info.emit("Understanding your description…")
                self.embeddingNeeded.emit(query.text)
                return
            self._library.set_text_embedder(self._embed_from_cache, self._model)
        self._waiting_for = None
        self.queryReady.emit(query)

    @Slot()
    def back_to_search(self) -> None:
        """Leave a fixed list (find similar) and show the search again."""
        self.set_query(self._query)

    @Slot(str, object)
    def on_text_embedded(self, text: str, vector: object) -> None:
        """The worker embedded a search text: cache it and run the waiting query."""
        self._embeddings[text] = np.asarray(vector, dtype=np.float32)
        if self._waiting_for == text and self._query.text == text:
            self.set_query(self._query)

    @Slot(str, str)
    def on_text_embedding_failed(self, text: str, message: str) -> None:
        """Say why a "describe the sound" search cannot run."""
        if self._waiting_for == text:
            self._waiting_for = None
            self.problem.emit(message)

    @Slot(str)
    def set_embedding_model(self, model_id: str) -> None:
        """The loaded embedding model changed: cached vectors of another model are useless."""
        if model_id != self._model:
            self._embeddings.clear()
            self._model = model_id or None

    @Slot(object)
    def find_similar(self, row: FileRow) -> None:
        """Show the sounds closest to ``row`` (computed on the pool)."""
        db = self._library.path

        def work(_ctx: TaskContext[None]) -> list[SearchHit]:
            return background.find_similar(db, row.id)  # type: ignore[arg-type]

        def done(result: TaskResult[list[SearchHit]]) -> None:
            if result.error is not None:
                self.problem.emit(f"Cannot find similar sounds: {describe_error(result.error)}")
                return
            found = [h.file for h in result.value or []]
            if not found:
                self.problem.emit(
                    f"No similar sounds: {row.name} has no audio fingerprint yet "
                    "(it is made when the file is captioned by the models)."
                )
                return
            self.show_rows(row, found)

        self._runner.run(work, done)

    def show_rows(self, source: FileRow, rows: Sequence[FileRow]) -> None:
        """Show exactly ``rows`` as the sounds similar to ``source``."""
        self.rowsReady.emit(list(rows))
        self.bannerChanged.emit(f"{len(rows)} sounds similar to {source.name}")

    def _embed_from_cache(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._embeddings[t] for t in texts])
