"""The first worksheet of an .xlsx file as rows of strings (standard library only).

Enough for a spreadsheet of text like the UCS list: shared and inline strings, numbers as
written, no formulas evaluated, no styles. Sizes are capped so a zip bomb is refused.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

__all__ = ["read_first_sheet"]

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_MAX_PART = 64 << 20
_CELL = re.compile(r"([A-Z]+)(\d+)")


def _part(zf: zipfile.ZipFile, name: str) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > _MAX_PART:
        raise ValueError(f"{name} is too large ({info.file_size} bytes uncompressed)")
    data = zf.read(name)
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:4096]:
        raise ValueError(f"{name} has a DOCTYPE, which spreadsheets never need")
    return data


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def read_first_sheet(path: Path) -> list[list[str]]:
    """Rows of the first worksheet, each a list of cell texts ("" for empty cells).

    Raises:
        ValueError: Not an .xlsx file this reader understands.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            workbook = ET.fromstring(_part(zf, "xl/workbook.xml"))
            sheet = workbook.find("m:sheets/m:sheet", _NS)
            if sheet is None:
                raise ValueError("the workbook has no worksheet")
            rel_id = sheet.get(f"{{{_REL_NS}}}id")
            rels = ET.fromstring(_part(zf, "xl/_rels/workbook.xml.rels"))
            target = next(
                (
                    r.get("Target")
                    for r in rels.iter(f"{{{_PKG_REL}}}Relationship")
                    if r.get("Id") == rel_id
                ),
                None,
            )
            if not target:
                raise ValueError("the first worksheet is missing")
            target = target.lstrip("/")
            sheet_name = target if target.startswith("xl/") else f"xl/{target}"
            shared: list[str] = []
            if "xl/sharedStrings.xml" in zf.namelist():
                sst = ET.fromstring(_part(zf, "xl/sharedStrings.xml"))
                for si in sst.iterfind("m:si", _NS):
                    shared.append("".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")))
            root = ET.fromstring(_part(zf, sheet_name))
    except (zipfile.BadZipFile, KeyError, ET.ParseError, OSError) as exc:
        raise ValueError(f"not a readable .xlsx file ({exc})") from None
    rows: list[list[str]] = []
    for row in root.iterfind("m:sheetData/m:row", _NS):
        cells: dict[int, str] = {}
        for c in row.iterfind("m:c", _NS):
            ref = c.get("r", "")
            match = _CELL.match(ref)
            col = _col_index(match.group(1)) if match else len(cells)
            kind = c.get("t")
            if kind == "inlineStr":
                text = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
            else:
                v = c.find("m:v", _NS)
                text = v.text or "" if v is not None else ""
                if kind == "s" and text.isdigit() and int(text) < len(shared):
                    text = shared[int(text)]
            cells[col] = text
        if cells:
            width = max(cells) + 1
            rows.append([cells.get(i, "") for i in range(width)])
        else:
            rows.append([])
    return rows
