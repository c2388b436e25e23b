"""SQL building blocks for file queries: FTS escaping, filters, sort order (no state)."""

from __future__ import annotations

import os
import re
from typing import Any

from desktop.library.types import SORTABLE_COLUMNS, FileQuery

__all__ = [
    "BM25",
    "WORD",
    "fts_query",
    "is_ranked",
    "match_of",
    "only_status_filter",
    "order_by",
    "sort_column",
    "where_of",
]

WORD = re.compile(r"\w+", re.UNICODE)
#: Relevance score with column weights (name, folder, caption, keywords); lower is better.
BM25 = "bm25(files_fts, 2.0, 1.0, 3.0, 2.0)"
#: Longest prefix with its own FTS index (schema v4: prefix='2 3 4 5 6').
_PREFIX_MAX = 6


def fts_query(text: str) -> str | None:
    """Turn typed text into a safe FTS5 query: every word quoted and ANDed.

    Quotes, ``*``, ``-``, ``NEAR(``, ``AND``/``OR``/``NOT`` and any other syntax lose their
    meaning; ``None`` when the text has no words at all. The last word (the one being typed)
    and short words match as prefixes; a long word before the last is taken as typed, because
    a prefix longer than the prefix indexes (6 characters) is expensive and rarely meant.
    """
    words = WORD.findall(text)
    if not words:
        return None
    last = len(words) - 1
    return " ".join(
        f'"{w}"*' if i == last or len(w) <= _PREFIX_MAX else f'"{w}"' for i, w in enumerate(words)
    )


def only_status_filter(q: FileQuery) -> bool:
    return (
        q.root_id is None
        and not q.folder
        and not q.formats
        and q.min_duration is None
        and q.max_duration is None
        and q.captioned is None
        and not q.keyword
        and q.caption_source is None
    )


def is_ranked(q: FileQuery) -> bool:
    return q.mode in ("semantic", "hybrid") and bool(q.text.strip())


def match_of(q: FileQuery) -> str | None:
    if not q.text.strip():
        return None
    if q.mode == "advanced":
        return q.text
    return fts_query(q.text)


def sort_column(q: FileQuery) -> str:
    """The ``files`` column a query is ordered by (``rank`` without a search is by name).

    Names sort by ``name_key`` (schema v5): natural, case-insensitive order, so ``Kick 2``
    comes before ``kick 10``.
    """
    column = "name" if q.sort == "rank" else q.sort
    if column not in SORTABLE_COLUMNS:
        raise ValueError(f"cannot sort by {column!r}")
    return "name_key" if column == "name" else column


def order_by(q: FileQuery) -> str:
    column = sort_column(q)
    direction = "DESC" if q.descending else "ASC"
    return f"f.{column} {direction}, f.id {direction}" if column != "id" else f"f.id {direction}"


def where_of(q: FileQuery) -> tuple[str, list[Any]]:
    """SQL condition on ``files AS f`` for the query's filters, with its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if set(q.statuses) == {"ok", "error"}:
        # Written exactly as the partial sort indexes' condition, so SQLite can use them.
        clauses.append("f.status != 'missing'")
    elif q.statuses:
        clauses.append(f"f.status IN ({','.join('?' * len(q.statuses))})")
        params.extend(q.statuses)
    if q.root_id is not None:
        clauses.append("f.root_id = ?")
        params.append(q.root_id)
    if q.folder:
        folder = os.path.abspath(q.folder).rstrip(os.sep) or os.sep
        base = folder if folder.endswith(os.sep) else folder + os.sep
        clauses.append("(f.folder = ? OR (f.folder >= ? AND f.folder < ?))")
        params.extend([folder, base, base[:-1] + chr(ord(os.sep) + 1)])
    if q.formats:
        clauses.append(f"f.ext IN ({','.join('?' * len(q.formats))})")
        params.extend(fmt.lower().lstrip(".") for fmt in q.formats)
    if q.min_duration is not None:
        clauses.append("f.duration_s >= ?")
        params.append(q.min_duration)
    if q.max_duration is not None:
        clauses.append("f.duration_s <= ?")
        params.append(q.max_duration)
    if q.captioned is not None:
        clauses.append("f.caption_id IS NOT NULL" if q.captioned else "f.caption_id IS NULL")
    if q.keyword:
        clauses.append(
            "f.caption_id IN (SELECT caption_id FROM caption_keywords "
            "WHERE keyword = ? COLLATE NOCASE)"
        )
        params.append(q.keyword.strip())
    if q.caption_source is not None:
        clauses.append("f.caption_source = ?")
        params.append(q.caption_source)
    return (" AND ".join(clauses) or "1"), params
