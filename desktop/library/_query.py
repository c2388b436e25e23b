"""Listing, filtering, sorting and searching files: the part of ``Library`` the table reads."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from desktop.library._base import FILE_COLUMNS, LibraryBase, file_row
from desktop.library._sql import (
    BM25,
    WORD,
    fts_query,
    has_search,
    is_ranked,
    match_of,
    only_status_filter,
    order_by,
    sort_column,
    where_of,
)
from desktop.library.errors import InvalidQueryError
from desktop.library.semantic import EmbeddingIndex, rrf_fuse
from desktop.library.types import (
    FileQuery,
    FileRow,
    SearchHit,
    SearchMode,
    TextEmbedder,
)

__all__ = ["RANK_LIMIT", "QueryMixin", "fts_query"]

log = logging.getLogger(__name__)

_RANKED_CACHE_SIZE = 8
#: One-word searches with more hits than this are listed newest first instead of by
#: relevance (the limit shrinks with the square of the number of words).
RANK_LIMIT = 5000
#: Up to this many hidden (missing) files, search counts subtract them instead of joining.
_HIDDEN_SUBTRACT_MAX = 20000


class QueryMixin(LibraryBase):
    """Count, page, get, search and find-similar over files."""

    _embedder: TextEmbedder | None = None
    _embed_model: str | None = None
    _index: EmbeddingIndex
    _ranked_cache: OrderedDict[Any, list[tuple[int, float]]]
    # (query, end offset, last sort value, last id) of the last page, for keyset paging.
    _last_page: tuple[FileQuery, int, Any, int] | None = None
    _fts_count_cache: tuple[Any, int] | None = None

    def set_text_embedder(self, embed: TextEmbedder | None, model_id: str | None) -> None:
        """Set the function that embeds search text for semantic and hybrid queries.

        Args:
            embed: e.g. ``Captioner.embed_text``; ``None`` disables semantic search.
            model_id: The embedding model id (``Captioner.embedding_model_id``).
        """
        self._embedder = embed
        self._embed_model = model_id
        self._ranked_cache.clear()

    # -- table -------------------------------------------------------------------------------

    def count_files(self, query: FileQuery | None = None) -> int:
        """Number of files matching ``query`` (all non-missing files when ``None``)."""
        q = query or FileQuery()
        where, params = where_of(q)
        if is_ranked(q):
            return len(self._ranked(q))
        match = match_of(q)
        if match is not None:
            return self._fts_count(q, match)
        if only_status_filter(q):
            # count(*) over the smallest index, minus the few hidden rows: ~2x faster at 1M.
            total = int(self._conn.execute("SELECT count(*) FROM files").fetchone()[0])
            hidden = [s for s in ("ok", "error", "missing") if s not in q.statuses]
            if hidden:
                marks = ",".join("?" * len(hidden))
                total -= int(
                    self._conn.execute(
                        f"SELECT count(*) FROM files WHERE status IN ({marks})", hidden
                    ).fetchone()[0]
                )
            return total
        return int(
            self._conn.execute(f"SELECT count(*) FROM files f WHERE {where}", params).fetchone()[0]
        )

    def list_files(
        self, query: FileQuery | None = None, offset: int = 0, limit: int = 100
    ) -> list[FileRow]:
        """One page of files matching ``query`` in its sort order.

        Pages fetched in sequence (offset = previous offset + previous length) use keyset
        pagination internally, so scrolling to the end of a million rows stays fast.

        Raises:
            InvalidQueryError: Invalid advanced search syntax, a semantic search without a
                text embedder, or nothing to search for (see :class:`NothingToSearchError`).
        """
        q = query or FileQuery()
        offset, limit = max(0, int(offset)), max(0, int(limit))
        if limit == 0:
            return []
        if is_ranked(q):
            return self._list_ranked(q, offset, limit)
        where, params = where_of(q)
        match = match_of(q)
        if match is not None:
            order = self._fts_order(q, match)
            sql = (
                f"SELECT {FILE_COLUMNS}, -{BM25} AS score FROM files_fts "
                "JOIN files f ON f.id = files_fts.rowid "
                f"WHERE files_fts MATCH ? AND {where} ORDER BY {order} LIMIT ? OFFSET ?"
            )
            rows = self._fts(sql, [match, *params, limit, offset]).fetchall()
            return [file_row(row[:-1], float(row[-1])) for row in rows]
        return self._list_plain(q, where, params, offset, limit)

    def get_file(self, file_id: int) -> FileRow | None:
        """The file with this id, or ``None``."""
        row = self._conn.execute(
            f"SELECT {FILE_COLUMNS} FROM files f WHERE f.id = ?", (file_id,)
        ).fetchone()
        return None if row is None else file_row(row)

    def file_id_for_path(self, path: str | os.PathLike[str]) -> int | None:
        """The id of the file at this absolute path, or ``None``."""
        row = self._conn.execute(
            "SELECT id FROM files WHERE path = ?", (os.path.abspath(os.fspath(path)),)
        ).fetchone()
        return None if row is None else int(row[0])

    def iter_files(self, query: FileQuery | None = None, *, batch: int = 2000) -> Iterator[FileRow]:
        """Every file matching ``query`` in its order, streamed (constant memory).

        Reads one snapshot: rows committed by other connections meanwhile are not seen.
        """
        q = query or FileQuery()
        if is_ranked(q):
            ranked = self._ranked(q)
            for start in range(0, len(ranked), batch):
                yield from self._list_ranked(q, start, batch)
            return
        where, params = where_of(q)
        match = match_of(q)
        if match is not None:
            order = self._fts_order(q, match)
            cur = self._fts(
                f"SELECT {FILE_COLUMNS}, -{BM25} AS score FROM files_fts "
                "JOIN files f ON f.id = files_fts.rowid "
                f"WHERE files_fts MATCH ? AND {where} ORDER BY {order}",
                [match, *params],
            )
        else:
            cur = self._conn.execute(
                f"SELECT {FILE_COLUMNS}, NULL FROM files f WHERE {where} ORDER BY {order_by(q)}",
                params,
            )
        try:
            while rows := cur.fetchmany(batch):
                for row in rows:
                    yield file_row(row[:-1], row[-1])
        finally:
            cur.close()

    def files_by_id(self, file_ids: Sequence[int]) -> list[FileRow]:
        """These files in this order (unknown ids are skipped)."""
        rows = self._rows_by_id(list(file_ids), visible_only=False)
        return [rows[i] for i in file_ids if i in rows]

    # -- search ------------------------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        mode: SearchMode = "text",
        limit: int = 50,
        embed_text: TextEmbedder | None = None,
        model_id: str | None = None,
        thesaurus: bool = False,
    ) -> list[SearchHit]:
        """Search files by text, by meaning, or both; best first.

        Args:
            text: What to look for.
            mode: See :data:`SearchMode`.
            limit: Most hits returned.
            embed_text: Text embedder for semantic/hybrid (else the one set with
                :meth:`set_text_embedder`).
            model_id: Embedding model id for semantic/hybrid.
            thesaurus: Words also match their UCS names and synonyms (word and hybrid).

        Raises:
            InvalidQueryError: Semantic search without an embedder, invalid advanced syntax,
                or nothing to search for.
        """
        if embed_text is not None:
            self.set_text_embedder(embed_text, model_id or self._embed_model)
        q = FileQuery(
            text=text,
            mode=mode,
            semantic_model=model_id,
            max_results=max(limit, 1),
            thesaurus=thesaurus,
        )
        if not has_search(q):
            return []
        return [SearchHit(row, row.score or 0.0) for row in self.list_files(q, 0, limit)]

    def similar(
        self, file_id: int, limit: int = 20, model_id: str | None = None
    ) -> list[SearchHit]:
        """Files whose audio embedding is closest to this file's (itself excluded).

        Returns an empty list when the file has no embedding yet (not captioned).
        """
        if model_id is None:
            row = self._conn.execute(
                "SELECT model_id FROM embeddings WHERE file_id = ? ORDER BY id DESC LIMIT 1",
                (file_id,),
            ).fetchone()
            if row is None:
                return []
            model_id = str(row[0])
        vector = self._conn.execute(
            "SELECT vector FROM embeddings WHERE file_id = ? AND model_id = ?",
            (file_id, model_id),
        ).fetchone()
        if vector is None:
            return []
        import numpy as np

        ranked = self._index.search(
            model_id, np.frombuffer(vector[0], dtype=np.float32), limit + 1, exclude=file_id
        )
        rows = self._rows_by_id([i for i, _ in ranked], visible_only=True)
        hits = [SearchHit(dataclasses.replace(rows[i], score=s), s) for i, s in ranked if i in rows]
        return hits[:limit]

    # -- helpers -----------------------------------------------------------------------------

    def _fts_count(self, q: FileQuery, match: str) -> int:
        """Files matching an FTS query and the filters (the last answer is cached)."""
        key: tuple[Any, ...] = (
            q.text,
            q.mode,
            dataclasses.replace(q, text="", sort="rank", descending=False),
            self._conn.execute("PRAGMA data_version").fetchone()[0],
            self._conn.total_changes,
        )
        if self._fts_count_cache is not None and self._fts_count_cache[0] == key:
            return self._fts_count_cache[1]
        count = self._fts_count_uncached(q, match)
        self._fts_count_cache = (key, count)
        return count

    def _fts_count_uncached(self, q: FileQuery, match: str) -> int:
        if only_status_filter(q):
            # Counting in the FTS index alone is ~50x faster than joining every match with
            # files; then take away the (usually few) matches with a hidden status.
            total = int(
                self._fts(
                    "SELECT count(*) FROM files_fts WHERE files_fts MATCH ?", [match]
                ).fetchone()[0]
            )
            hidden = [s for s in ("ok", "error", "missing") if s not in q.statuses]
            if not hidden or total == 0:
                return total
            marks = ",".join("?" * len(hidden))
            hidden_ids = [
                row[0]
                for row in self._conn.execute(
                    f"SELECT id FROM files WHERE status IN ({marks}) LIMIT ?",
                    [*hidden, _HIDDEN_SUBTRACT_MAX + 1],
                )
            ]
            if len(hidden_ids) <= _HIDDEN_SUBTRACT_MAX:
                if not hidden_ids:
                    return total
                return total - int(
                    self._conn.execute(
                        "SELECT count(*) FROM files_fts WHERE files_fts MATCH ? "
                        "AND rowid IN (SELECT value FROM json_each(?))",
                        (match, json.dumps(hidden_ids)),
                    ).fetchone()[0]
                )
        where, params = where_of(q)
        sql = (
            "SELECT count(*) FROM files_fts JOIN files f ON f.id = files_fts.rowid "
            f"WHERE files_fts MATCH ? AND {where}"
        )
        return int(self._fts(sql, [match, *params]).fetchone()[0])

    def _fts_order(self, q: FileQuery, match: str) -> str:
        """ORDER BY for an FTS search: bm25, unless there are too many hits to rank."""
        if q.sort != "rank":
            return order_by(q)
        direction = "DESC" if q.descending else "ASC"
        # Scoring cost grows with the number of terms too (each has a position list).
        terms = max(1, len(WORD.findall(match)))
        if self._fts_count(q, match) > RANK_LIMIT // terms**2:
            # bm25 costs a few microseconds per hit; tens of thousands of hits (a common word,
            # a short prefix while typing) would stall every keystroke. List them newest
            # first instead; a narrower search gets ranked again.
            return f"files_fts.rowid {'ASC' if q.descending else 'DESC'}"
        return f"score {'ASC' if q.descending else 'DESC'}, f.id {direction}"

    def _fts(self, sql: str, params: list[Any]) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if any(word in message for word in ("locked", "busy", "disk", "I/O", "readonly")):
                raise  # the database's trouble, not the query's
            # Escaped queries never fail; an advanced one with bad syntax lands here.
            raise InvalidQueryError(f"invalid search syntax: {message}") from exc

    def _list_plain(
        self, q: FileQuery, where: str, params: list[Any], offset: int, limit: int
    ) -> list[FileRow]:
        column = sort_column(q)
        rows: list[FileRow] | None = None
        last = self._last_page
        if (
            offset > 0
            and last is not None
            and last[0] == q
            and last[1] == offset
            and last[2] is not None
        ):
            # Keyset: continue after the last row instead of skipping `offset` rows.
            op = "<" if q.descending else ">"
            if column == "id":
                cond, extra = f"f.id {op} ?", [last[3]]
            else:
                cond, extra = f"(f.{column}, f.id) {op} (?, ?)", [last[2], last[3]]
            found = self._conn.execute(
                f"SELECT {FILE_COLUMNS} FROM files f WHERE {where} AND {cond} "
                f"ORDER BY {order_by(q)} LIMIT ?",
                [*params, *extra, limit],
            ).fetchall()
            # Descending order puts NULLs last, which the keyset condition skips: a short
            # page may mean "NULLs follow", so only a full page is trusted.
            if len(found) == limit or not q.descending:
                rows = [file_row(row) for row in found]
        if rows is None:
            # Find the page's ids first: stepping over `offset` entries of a (partial) sort
            # index is cheap; reading `offset` whole rows is not.
            ids = [
                row[0]
                for row in self._conn.execute(
                    f"SELECT f.id FROM files f WHERE {where} "
                    f"ORDER BY {order_by(q)} LIMIT ? OFFSET ?",
                    [*params, limit, offset],
                )
            ]
            by_id = self._rows_by_id(ids, visible_only=False)
            rows = [by_id[i] for i in ids if i in by_id]
        if rows:
            tail = rows[-1]
            self._last_page = (q, offset + len(rows), self._sort_value(tail, column), tail.id)
        return rows

    def _sort_value(self, row: FileRow, column: str) -> Any:
        """The value of ``row`` in the SQL sort column (``name_key`` is not on FileRow)."""
        if column != "name_key":
            return getattr(row, column)
        found = self._conn.execute("SELECT name_key FROM files WHERE id = ?", (row.id,)).fetchone()
        return None if found is None else found[0]

    def _list_ranked(self, q: FileQuery, offset: int, limit: int) -> list[FileRow]:
        ranked = self._ranked(q)
        scores = dict(ranked)
        if q.sort == "rank":
            order = ranked[::-1] if q.descending else ranked
            page = [i for i, _ in order[offset : offset + limit]]
            rows = self._rows_by_id(page, visible_only=False)
            return [dataclasses.replace(rows[i], score=scores[i]) for i in page if i in rows]
        found = self._conn.execute(
            f"SELECT {FILE_COLUMNS} FROM files f WHERE f.id IN (SELECT value FROM json_each(?)) "
            f"ORDER BY {order_by(q)} LIMIT ? OFFSET ?",
            (json.dumps(list(scores)), limit, offset),
        ).fetchall()
        return [file_row(row, scores.get(row[0])) for row in found]

    def _rows_by_id(self, ids: list[int], *, visible_only: bool) -> dict[int, FileRow]:
        if not ids:
            return {}
        extra = " AND f.status != 'missing'" if visible_only else ""
        return {
            row[0]: file_row(row)
            for row in self._conn.execute(
                f"SELECT {FILE_COLUMNS} FROM files f "
                f"WHERE f.id IN (SELECT value FROM json_each(?)){extra}",
                (json.dumps(ids),),
            )
        }

    def _ranked(self, q: FileQuery) -> list[tuple[int, float]]:
        """Semantic or hybrid ranking of ``q``, filtered, best first (cached)."""
        base = dataclasses.replace(q, sort="rank", descending=False)
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        key = (base, self._embed_model, version, self._conn.total_changes)
        cached = self._ranked_cache.get(key)
        if cached is not None:
            self._ranked_cache.move_to_end(key)
            return cached
        embed = self._embedder
        if embed is None:
            raise InvalidQueryError(
                "searching by description needs the audio-language model to understand the "
                "text; it is not loaded"
            )
        model = q.semantic_model or self._embed_model or self._default_embedding_model()
        if model is None:
            return []
        vector = embed([q.text])[0]
        semantic = self._index.search(model, vector, q.max_results)
        if q.mode == "hybrid":
            match = fts_query(q.text, q.thesaurus)
            text_ids: list[int] = []
            if match is not None:
                text_ids = [
                    row[0]
                    for row in self._conn.execute(
                        "SELECT rowid FROM files_fts WHERE files_fts MATCH ? ORDER BY rank LIMIT ?",
                        (match, q.max_results),
                    )
                ]
            fused = rrf_fuse([[i for i, _ in semantic], text_ids])[: q.max_results]
        else:
            fused = semantic
        where, params = where_of(q)
        allowed = {
            row[0]
            for row in self._conn.execute(
                f"SELECT f.id FROM files f WHERE f.id IN (SELECT value FROM json_each(?)) "
                f"AND {where}",
                [json.dumps([i for i, _ in fused]), *params],
            )
        }
        result = [(i, s) for i, s in fused if i in allowed]
        self._ranked_cache[key] = result
        while len(self._ranked_cache) > _RANKED_CACHE_SIZE:
            self._ranked_cache.popitem(last=False)
        return result

    def _default_embedding_model(self) -> str | None:
        row = self._conn.execute(
            "SELECT model_id FROM embeddings GROUP BY model_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        return None if row is None else str(row[0])
