"""SQL building blocks for file queries: FTS escaping, filters, sort order (no state)."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from desktop.library._syntax import MAX_QUERY_WORDS, WORD, parse_search, to_fts
from desktop.library.errors import InvalidQueryError, NothingToSearchError
from desktop.library.types import SORTABLE_COLUMNS, FileQuery

__all__ = [
    "BM25",
    "MAX_QUERY_WORDS",
    "WORD",
    "fts_query",
    "has_search",
    "is_ranked",
    "match_of",
    "only_status_filter",
    "order_by",
    "search_words",
    "sort_column",
    "where_of",
]

#: Longest advanced (FTS5 syntax) query accepted.
MAX_ADVANCED_CHARS = 2000
#: Relevance score with column weights (name, folder, caption, keywords, the file's own
#: metadata, index tags); lower is better.
BM25 = "bm25(files_fts, 2.0, 1.0, 3.0, 2.0, 2.0, 1.0)"


def search_words(text: str) -> list[str]:
    """The words of typed search text: each once (case-insensitively), at most
    :data:`MAX_QUERY_WORDS`, in the order typed."""
    return parse_search(text).words


log = logging.getLogger(__name__)


@functools.cache
def _ucs_alternatives() -> Callable[[str], list[str]] | None:
    """A word's UCS names and synonyms (read once per process); ``None`` without a list."""
    from captioner.ucs import UcsNotAvailableError, UcsThesaurus, load_ucs

    try:
        thesaurus = UcsThesaurus(load_ucs())
    except UcsNotAvailableError as exc:
        log.warning("searching without the UCS thesaurus: %s", exc)
        return None
    return lambda word: list(thesaurus.expand(word)[1:])


def fts_query(text: str, thesaurus: bool = False) -> str | None:
    """Turn typed text into a safe FTS5 query (the syntax is in :mod:`._syntax`); with
    ``thesaurus``, each word also matches its UCS names and synonyms.

    ``None`` when the text has no words at all.

    Raises:
        NothingToSearchError: The search only leaves things out.
    """
    return to_fts(parse_search(text), _ucs_alternatives() if thesaurus else None)


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


def has_search(q: FileQuery) -> bool:
    """Whether the query searches at all (text that is not only spaces).

    Raises:
        NothingToSearchError: The text has no letters or digits (``***``, ``-``, an emoji):
            such a search must say so, not list the whole library.
    """
    if not q.text.strip():
        return False
    if q.mode != "advanced" and not WORD.search(q.text):
        raise NothingToSearchError(
            "nothing to search for: type at least one word (letters or digits)"
        )
    return True


def is_ranked(q: FileQuery) -> bool:
    return q.mode in ("semantic", "hybrid") and has_search(q)


def match_of(q: FileQuery) -> str | None:
    if not has_search(q):
        return None
    if q.mode == "advanced":
        if len(q.text) > MAX_ADVANCED_CHARS:
            raise InvalidQueryError(
                f"the search is too long ({len(q.text):,} characters; at most "
                f"{MAX_ADVANCED_CHARS:,} in advanced mode)"
            )
        return q.text
    return fts_query(q.text, q.thesaurus)


def sort_column(q: FileQuery) -> str:
    """The ``files`` column a query is ordered by (``rank`` without a search is by name).

    Names sort by ``name_key`` (schema v7): natural, case-insensitive order, so ``Kick 2``
    comes before ``kick 10``.
    """
    column = "name" if q.sort == "rank" else q.sort
    if column not in SORTABLE_COLUMNS:
        raise InvalidQueryError(f"cannot sort by {column!r}")
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
