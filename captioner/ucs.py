"""UCS, the Universal Category System of sound effects: the list, zero-shot CatID suggestion,
a search thesaurus, and UCS file names.

The list (UCS 8.2.1: 82 categories, 753 subcategories) is read from a file in the official
layout: the CSV or XLSX published by the UCS initiative (a few title rows, then a header row
with ``Category``, ``SubCategory``, ``CatID``, ``CatShort``, ``Explanations`` and
``Synonyms``), or a JSON list of objects with those keys. Where it is found, in order: the
``path`` given (the GUI's setting), the ``EARMARK_UCS`` environment variable, then a copy
shipped in ``captioner/resources/ucs/`` (UCS 8.2.1, public domain; provenance in the README
there). :func:`load_ucs` says so clearly when none is found (a packager who left it out).

Suggestion is zero-shot: each subcategory becomes three text prompts (its name, its
explanation, its synonyms), their embeddings are averaged, and a file's audio embedding is
compared with each by cosine similarity. Nothing is ever applied; the caller shows the top
suggestions and lets the user choose.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from captioner.errors import CaptionerError

__all__ = [
    "UCS_ENV",
    "UcsEntry",
    "UcsList",
    "UcsNotAvailableError",
    "UcsThesaurus",
    "find_ucs_file",
    "fxname_from_caption",
    "load_ucs",
    "parse_ucs_filename",
    "read_ucs_file",
    "suggest_ucs_filename",
]

log = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    # Suggestion lives in captioner.ucs_suggest (it needs an embedding model); re-exported here.
    if name in ("UcsSuggester", "UcsSuggestion", "suggest_catids", "entry_prompts"):
        from captioner import ucs_suggest

        return getattr(ucs_suggest, name)
    raise AttributeError(f"module 'captioner.ucs' has no attribute {name!r}")


UCS_ENV = "EARMARK_UCS"
RESOURCE_DIR = Path(__file__).resolve().parent / "resources" / "ucs"
_SUFFIXES = (".csv", ".xlsx", ".json")
_MAX_FILE = 32 << 20


class UcsNotAvailableError(CaptionerError):
    """No UCS list was found, or the one given cannot be read."""


@dataclass(frozen=True)
class UcsEntry:
    """One UCS subcategory.

    Attributes:
        category: ``"DOORS"``.
        subcategory: ``"WOOD"``.
        catid: ``"DOORWood"``, the ID used in file names and tags.
        catshort: ``"DOOR"``, the category's short form.
        explanation: What belongs here, in words.
        synonyms: Words that belong here (for search and prompts).
    """

    category: str
    subcategory: str
    catid: str
    catshort: str
    explanation: str
    synonyms: tuple[str, ...]

    @property
    def category_full(self) -> str:
        """``"DOORS-WOOD"``, the CategoryFull column of library tools."""
        return f"{self.category}-{self.subcategory}"


@dataclass(frozen=True)
class UcsList:
    """A loaded UCS list.

    Attributes:
        entries: The subcategories in file order.
        source: The file they came from.
        sha256: Content hash of the file (for provenance and cache keys).
    """

    entries: tuple[UcsEntry, ...]
    source: str
    sha256: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {e.catid.casefold(): e for e in self.entries})

    def get(self, catid: str) -> UcsEntry | None:
        """The entry with this CatID (case-insensitive), or ``None``."""
        by_id: dict[str, UcsEntry] = self._by_id  # type: ignore[attr-defined]
        return by_id.get(catid.casefold())

    def categories(self) -> tuple[str, ...]:
        """Distinct categories in file order."""
        return tuple(dict.fromkeys(e.category for e in self.entries))


# ---- loading ------------------------------------------------------------------------------


def find_ucs_file(path: str | os.PathLike[str] | None = None) -> Path | None:
    """Where the UCS list is: ``path``, else ``$EARMARK_UCS``, else an installed copy."""
    for candidate in (path, os.environ.get(UCS_ENV) or None):
        if candidate:
            return Path(candidate).expanduser()
    if RESOURCE_DIR.is_dir():
        for found in sorted(RESOURCE_DIR.iterdir()):
            if found.suffix.lower() in _SUFFIXES and found.is_file():
                return found
    return None


def load_ucs(path: str | os.PathLike[str] | None = None) -> UcsList:
    """Load the UCS list from :func:`find_ucs_file`'s place.

    Raises:
        UcsNotAvailableError: None found, or unreadable; the message says what to do.
    """
    found = find_ucs_file(path)
    if found is None:
        raise UcsNotAvailableError(
            "The UCS category list is not installed. Download the UCS list (CSV or XLSX) from "
            "universalcategorysystem.com and choose it in Settings, or set EARMARK_UCS to its "
            "path."
        )
    return read_ucs_file(found)


def read_ucs_file(path: str | os.PathLike[str]) -> UcsList:
    """Read a UCS list in the official CSV/XLSX layout or as JSON.

    Raises:
        UcsNotAvailableError: Unreadable, or no UCS header row / no entries found.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > _MAX_FILE:
            raise UcsNotAvailableError(f"{p.name}: too large for a UCS list ({size} bytes)")
        raw = p.read_bytes()
    except OSError as exc:
        raise UcsNotAvailableError(f"cannot read the UCS list {p}: {exc.strerror}") from None
    digest = hashlib.sha256(raw).hexdigest()
    suffix = p.suffix.lower()
    try:
        if suffix == ".xlsx":
            from captioner._xlsx import read_first_sheet

            entries = _from_rows(read_first_sheet(p))
        elif suffix == ".json":
            import json

            entries = _from_records(json.loads(raw.decode("utf-8-sig")))
        else:
            entries = _from_csv(raw)
    except (ValueError, UnicodeDecodeError, TypeError, KeyError) as exc:
        raise UcsNotAvailableError(f"{p.name} is not a UCS list Earmark can read: {exc}") from None
    if not entries:
        raise UcsNotAvailableError(f"{p.name} holds no UCS entries (no rows with a CatID)")
    return UcsList(tuple(entries), str(p), digest)


def _from_csv(raw: bytes) -> list[UcsEntry]:
    """Rows of a CSV in whichever of comma, semicolon or tab gives a UCS header row."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    error: ValueError | None = None
    for delimiter in (",", ";", "\t"):
        try:
            return _from_rows(list(csv.reader(io.StringIO(text), delimiter=delimiter)))
        except ValueError as exc:
            error = exc
    assert error is not None
    raise error


def _norm(header: str) -> str:
    return re.sub(r"[^a-z]", "", header.lower())


def _from_rows(rows: list[list[str]]) -> list[UcsEntry]:
    """Find the header row (within the first 20) and read the rows below it."""
    for index, row in enumerate(rows[:20]):
        names = [_norm(c) for c in row]
        if {"category", "subcategory", "catid"} <= set(names):
            cols: dict[str, int] = {}
            for col, name in enumerate(names):
                key = "synonyms" if name.startswith("synonym") else name
                if key == "explanation":
                    key = "explanations"
                cols.setdefault(key, col)
            records = []
            for r in rows[index + 1 :]:
                rec = {k: (r[c] if c < len(r) else "") for k, c in cols.items()}
                records.append(rec)
            return _from_records(records)
    raise ValueError("no header row with Category, SubCategory and CatID columns")


def _from_records(records: Iterable[Mapping[str, Any]]) -> list[UcsEntry]:
    entries: list[UcsEntry] = []
    seen: set[str] = set()
    for rec in records:
        data = {_norm(str(k)): v for k, v in rec.items()}
        catid = str(data.get("catid") or "").strip()
        if not catid or catid.casefold() in seen:
            continue
        seen.add(catid.casefold())
        syn = data.get("synonyms") or data.get("synonymscommaseparated") or ""
        words = syn if isinstance(syn, list) else str(syn).split(",")
        synonyms = tuple(dict.fromkeys(str(w).strip() for w in words if str(w).strip()))
        entries.append(
            UcsEntry(
                category=str(data.get("category") or "").strip(),
                subcategory=str(data.get("subcategory") or "").strip(),
                catid=catid,
                catshort=str(data.get("catshort") or "").strip(),
                explanation=str(data.get("explanations") or data.get("explanation") or "").strip(),
                synonyms=synonyms,
            )
        )
    return entries


# ---- thesaurus ------------------------------------------------------------------------------

_WORD = re.compile(r"[\w'-]+", re.UNICODE)


class UcsThesaurus:
    """UCS names and synonyms as a search thesaurus.

    A query word that names a subcategory (``"helicopter"``) expands to that subcategory's
    synonyms (``"chopper"``, ``"copter"``, ``"heli"`` ...); a word that is a synonym
    (``"chopper"``) expands to the subcategory names it belongs to (``"helicopter"``). UCS
    synonym lists are broad (they list what belongs in a category, not strict synonyms), so
    expansions are capped and the original word always comes first.

    Args:
        ucs: The UCS list.
        limit: Most alternatives per word.
    """

    def __init__(self, ucs: UcsList, limit: int = 12) -> None:
        self.limit = limit
        self._by_name: dict[str, list[str]] = {}
        self._by_synonym: dict[str, list[str]] = {}
        for entry in ucs.entries:
            name = entry.subcategory.casefold()
            words = [s.casefold() for s in entry.synonyms]
            if " " not in name and name not in ("misc", "general", "other"):
                self._by_name.setdefault(name, []).extend(w for w in words if w != name)
            for w in words:
                if " " not in name and name not in ("misc", "general", "other") and w != name:
                    self._by_synonym.setdefault(w, []).append(name)

    def _lookup(self, word: str) -> list[str]:
        out = list(dict.fromkeys(self._by_name.get(word, []) + self._by_synonym.get(word, [])))
        return out

    def expand(self, word: str) -> tuple[str, ...]:
        """``(word, alternative, ...)``, lower case, at most ``limit`` alternatives."""
        w = word.casefold()
        alts = self._lookup(w)
        if not alts and w.endswith("s") and len(w) > 3:
            alts = self._lookup(w[:-1])  # "helicopters" -> "helicopter"
        alts = [a for a in alts if a != w][: self.limit]
        return (w, *alts)

    def expand_query(self, text: str) -> list[tuple[str, ...]]:
        """Each word of a query with its alternatives: ``[("door", "gate", ...), ...]``; a
        full-text search ORs inside a group and ANDs the groups."""
        return [self.expand(w) for w in _WORD.findall(text)]


# ---- file names -----------------------------------------------------------------------------

_ILLEGAL = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def _clean(part: str) -> str:
    # "_" separates UCS fields, so it may not appear inside one.
    return " ".join(_ILLEGAL.sub(" ", part).replace("_", " ").split())


def fxname_from_caption(caption: str, max_chars: int = 25) -> str:
    """A short FXName from a caption: its first words, title case, within ``max_chars``
    (UCS recommends 25), without a leading article."""
    words = [w for w in re.findall(r"[A-Za-z0-9']+", caption)]
    if words and words[0].lower() in ("a", "an", "the"):
        words = words[1:]
    out = ""
    for w in words:
        nxt = f"{out} {w.capitalize()}".strip()
        if len(nxt) > max_chars:
            break
        out = nxt
    return out or (words[0].capitalize()[:max_chars] if words else "")


def suggest_ucs_filename(
    catid: str,
    fxname: str,
    creator_id: str,
    source_id: str,
    *,
    user_data: str = "",
    ext: str = "",
    ucs: UcsList | None = None,
) -> str:
    """A UCS file name, ``CatID_FXName_CreatorID_SourceID[_UserData][.ext]``. Renames nothing.

    Fields are cleaned of path characters and underscores (the UCS field separator); an empty
    CreatorID or SourceID becomes ``"NONE"`` as UCS asks.

    Raises:
        ValueError: ``catid`` is empty, or not in ``ucs`` when a list is given.
    """
    cat = _clean(catid).replace(" ", "")
    if not cat:
        raise ValueError("a UCS file name needs a CatID")
    if ucs is not None:
        entry = ucs.get(cat)
        if entry is None:
            raise ValueError(f"{catid!r} is not a CatID of the UCS list")
        cat = entry.catid
    parts = [cat, _clean(fxname) or "Untitled", _clean(creator_id) or "NONE"]
    parts.append(_clean(source_id) or "NONE")
    if _clean(user_data):
        parts.append(_clean(user_data))
    name = "_".join(parts)
    suffix = ext.lstrip(".")
    return f"{name}.{suffix}" if suffix else name


def parse_ucs_filename(name: str, ucs: UcsList) -> dict[str, str] | None:
    """Read a UCS file name back: ``{"catid", "fxname", "creator_id", "source_id",
    "user_data"}``, or ``None`` when the name does not start with a CatID of ``ucs``.

    The CatID may carry a user category after a hyphen (``"DOORWood-Mine"``).
    """
    stem = Path(name).stem
    parts = stem.split("_")
    if len(parts) < 2:
        return None
    entry = ucs.get(parts[0].split("-", 1)[0])
    if entry is None:
        return None
    keys = ("fxname", "creator_id", "source_id")
    out = {"catid": entry.catid}
    for key, value in zip(keys, parts[1:4]):
        out[key] = value
    if len(parts) > 4:
        out["user_data"] = "_".join(parts[4:])
    return out
