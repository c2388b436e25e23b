"""The search box's syntax, as sound-library tools have taught their users to type it.

- words: all must match (``rain roof``); the last word typed, and short ones, match as
  prefixes (``thund`` finds thunder);
- ``"quoted words"``: this phrase, in this order;
- ``-word`` or ``-"a phrase"``: leave out what matches it (anywhere in the search);
- ``a b, c``: a comma separates alternatives: (a and b) or c.

Anything else (``*``, ``(``, ``NEAR``, ``AND``/``OR``/``NOT``) is just text: the result is
always a valid FTS5 query, so typing can never raise a syntax error. Repeated words count
once and a long paste is cut at :data:`MAX_QUERY_WORDS` words, so a search's cost is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from desktop.library.errors import NothingToSearchError

__all__ = ["MAX_QUERY_WORDS", "PREFIX_MAX", "WORD", "ParsedSearch", "parse_search", "to_fts"]

WORD = re.compile(r"\w+", re.UNICODE)
#: Most distinct words a search uses (each costs an index lookup).
MAX_QUERY_WORDS = 32
#: Longest prefix with its own FTS index (schema 4: prefix='2 3 4 5 6').
PREFIX_MAX = 6

# A term: optional minus, then a quoted phrase (closing quote optional: still being typed)
# or a run of anything up to a space, a comma or a quote.
_TERM = re.compile(r'(?P<neg>-)?(?:"(?P<phrase>[^"]*)"?|(?P<bare>[^\s,"]+))|(?P<comma>,)')


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]
    phrase: bool


@dataclass
class ParsedSearch:
    """A typed search, split into alternatives (each a list of terms that must all match)
    and exclusions."""

    alternatives: list[list[_Term]] = field(default_factory=list)
    excluded: list[_Term] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        """Every word, once each (case-insensitively), in the order typed."""
        seen: dict[str, str] = {}
        for term in [t for alt in self.alternatives for t in alt] + self.excluded:
            for word in term.words:
                seen.setdefault(word.casefold(), word)
        return list(seen.values())


def parse_search(text: str) -> ParsedSearch:
    """Split typed text into alternatives and exclusions (see the module docstring)."""
    parsed = ParsedSearch()
    current: list[_Term] = []
    seen: set[str] = set()
    budget = MAX_QUERY_WORDS
    for match in _TERM.finditer(text):
        if match.group("comma"):
            if current:
                parsed.alternatives.append(current)
            current = []
            continue
        raw = match.group("phrase") if match.group("phrase") is not None else match.group("bare")
        words = [w for w in WORD.findall(raw or "")]
        fresh = [w for w in words if w.casefold() not in seen]
        if not words or (not fresh and match.group("phrase") is None and len(words) == 1):
            continue  # punctuation only, or a word already searched for
        if budget <= 0:
            break
        words = words[:budget]
        budget -= len([w for w in words if w.casefold() not in seen])
        seen.update(w.casefold() for w in words)
        term = _Term(tuple(words), phrase=match.group("phrase") is not None)
        if match.group("neg"):
            parsed.excluded.append(term)
        elif term.phrase or len(words) == 1:
            current.append(term)
        else:
            current.extend(_Term((w,), False) for w in words)  # door-slam: door and slam
    if current:
        parsed.alternatives.append(current)
    return parsed


def to_fts(parsed: ParsedSearch, expand: Callable[[str], list[str]] | None = None) -> str | None:
    """The FTS5 query for a parsed search; ``None`` when it has no words at all.

    Args:
        parsed: From :func:`parse_search`.
        expand: Optional thesaurus: a word's alternatives (each also matched), e.g. UCS
            synonyms.

    Raises:
        NothingToSearchError: Only exclusions (FTS5 cannot list "everything but").
    """
    if not parsed.alternatives:
        if parsed.excluded:
            raise NothingToSearchError(
                "say what to look for as well as what to leave out (e.g. rain -thunder)"
            )
        return None
    last = parsed.alternatives[-1][-1]

    def word(w: str, prefix: bool) -> str:
        return f'"{w}"*' if prefix else f'"{w}"'

    def term(t: _Term, is_last: bool) -> str:
        if t.phrase:
            return '"' + " ".join(t.words) + '"'
        w = t.words[0]
        out = word(w, is_last or len(w) <= PREFIX_MAX)
        if expand is not None:
            alts = [a for a in dict.fromkeys(expand(w)) if WORD.fullmatch(a)]
            if alts:
                out = "(" + " OR ".join([out, *(word(a, False) for a in alts)]) + ")"
        return out

    # FTS5 takes no implicit AND before a parenthesis, so expanded terms are joined explicitly.
    joiner = " AND " if expand is not None else " "
    groups = [joiner.join(term(t, t is last) for t in alt) for alt in parsed.alternatives]
    query = groups[0] if len(groups) == 1 else " OR ".join(f"({g})" for g in groups)
    if parsed.excluded:
        left_out = " OR ".join(term(t, False) for t in parsed.excluded)
        query = f"({query}) NOT ({left_out})"
    return query
