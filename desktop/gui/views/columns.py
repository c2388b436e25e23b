"""The file table's columns, in one place: title, sort key, how a value reads, default width.

Default widths are measured from each column's widest typical value (``sample``) with the
table's own font, so "0:01.5", "44.1 kHz" or "888.8 MB" are never cut; at first launch the
optional columns that do not fit are hidden (the header's right-click menu brings them back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QFontMetrics

from desktop.gui.formatting import format_duration, format_rate, format_size
from desktop.library import FileRow, SortColumn

__all__ = ["COLUMNS", "Column", "column_index", "default_layout"]


def _caption(row: FileRow) -> str:
    if row.status == "error":
        return f"Unreadable: {row.error or 'unknown error'}"
    if row.status == "missing":
        return f"Missing from disk · {row.caption}" if row.caption else "Missing from disk"
    return row.caption or "Not captioned yet"


@dataclass(frozen=True)
class Column:
    """One column of the file table.

    Attributes:
        key: Stable name (tests and code refer to columns by it).
        title: Header text.
        sort: :class:`~desktop.library.FileQuery` sort key, or ``None`` (not sortable).
        display: The cell text of a row.
        sample: The widest value worth showing in full; sets the default width.
        numeric: Right-aligned figures.
        dim: Secondary text (drawn dimmer).
        optional: May be hidden at first launch when the table is narrow (in this order of
            ``hide_rank``, lowest first).
        hide_rank: Which optional column goes first.
        stretch: Takes the width left over (only the description).
    """

    key: str
    title: str
    sort: SortColumn | None
    display: Callable[[FileRow], str]
    sample: str = ""
    numeric: bool = False
    dim: bool = False
    optional: bool = False
    hide_rank: int = 0
    stretch: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("name", "Name", "name", lambda r: r.name, sample="Footsteps_Gravel_Run.wav"),
    Column("caption", "Description", "caption", _caption, stretch=True),
    Column(
        "keywords",
        "Keywords",
        None,
        lambda r: ", ".join(r.keywords),
        sample="rain, roof, water drops",
        dim=True,
        optional=True,
        hide_rank=4,
    ),
    Column(
        "duration",
        "Length",
        "duration_s",
        lambda r: format_duration(r.duration_s),
        sample="88:88.8",
        numeric=True,
    ),
    Column(
        "format",
        "Format",
        "ext",
        lambda r: (r.ext or "").upper(),
        sample="AIFF",
        optional=True,
        hide_rank=5,
    ),
    Column(
        "rate",
        "Rate",
        "sample_rate",
        lambda r: format_rate(r.sample_rate),
        sample="192 kHz",
        numeric=True,
        optional=True,
        hide_rank=6,
    ),
    Column(
        "channels",
        "Ch",
        "channels",
        lambda r: str(r.channels) if r.channels else "",
        sample="88",
        numeric=True,
        optional=True,
        hide_rank=2,
    ),
    Column(
        "bits",
        "Bits",
        "bit_depth",
        lambda r: str(r.bit_depth) if r.bit_depth else "",
        sample="32",
        numeric=True,
        optional=True,
        hide_rank=1,
    ),
    Column(
        "size",
        "Size",
        "size",
        lambda r: format_size(r.size),
        sample="888.8 MB",
        numeric=True,
        optional=True,
        hide_rank=3,
    ),
    Column(
        "folder",
        "Folder",
        "folder",
        lambda r: r.folder,
        sample="/home/user/Sounds/Foley",
        dim=True,
        optional=True,
        hide_rank=0,
    ),
)

#: (name width, narrowest description) tried in turn: roomy first, then tighter, before
#: columns that matter (length, format, rate) are hidden.
_FITS = ((210, 260), (180, 220), (170, 200))
#: Optional columns with a lower rank than this may go before the name and description shrink.
_KEEP_RANK = 5
#: Cell padding (the stylesheet's 6 px each side) plus a little air, and room in the header
#: for the sort arrow.
_CELL_PAD = 18
_HEADER_PAD = 24


def column_index(key: str) -> int:
    """The position of the column named ``key``."""
    for index, column in enumerate(COLUMNS):
        if column.key == key:
            return index
    raise KeyError(key)


def default_layout(
    available: int, cell: QFontMetrics, header: QFontMetrics
) -> tuple[dict[str, int], set[str]]:
    """Widths for every column and the optional columns to hide, for a table this wide.

    Every shown column gets the width of its sample value (or its header, if wider).
    Optional columns are hidden, lowest ``hide_rank`` first, until the name and a readable
    description fit; the name and the description narrow (in steps) before length, format
    or rate would go. What is left goes to the description, which stretches.

    Returns:
        ``(widths by key, hidden keys)``.
    """
    widths: dict[str, int] = {}
    for column in COLUMNS:
        value = cell.horizontalAdvance(column.sample) + _CELL_PAD if column.sample else 0
        title = header.horizontalAdvance(column.title.upper()) + _HEADER_PAD
        widths[column.key] = max(value, title)
    fixed = [c for c in COLUMNS if not c.stretch and c.key != "name"]
    optional = sorted((c for c in fixed if c.optional), key=lambda c: c.hide_rank)
    hidden: set[str] = set()
    name = _FITS[-1][0]
    for name, description in _FITS:
        hidden = set()
        for column in optional:
            used = name + description + sum(widths[c.key] for c in fixed if c.key not in hidden)
            if used <= available:
                break
            hidden.add(column.key)
        if not any(c.hide_rank >= _KEEP_RANK for c in optional if c.key in hidden):
            break
    widths["name"] = name
    widths["caption"] = max(
        _FITS[-1][1], available - name - sum(widths[c.key] for c in fixed if c.key not in hidden)
    )
    return widths, hidden
