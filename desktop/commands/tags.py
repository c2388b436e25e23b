"""``earmark library write-tags``: put captions into the files themselves, on request only.

Description and keywords go into each format's native places (see
``desktop.library.metadata.write``); ``--dry-run`` lists what would change; ``--undo``
restores what the last write replaced. Every write is atomic and verified, and never changes
the audio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from desktop.commands._library import open_library

__all__ = ["register_library_actions"]


def register_library_actions(sub: Any) -> None:
    """Add ``write-tags`` to the ``library`` actions."""
    parser = sub.add_parser(
        "write-tags",
        help="write captions and keywords into the files (bext/iXML/INFO, ID3, Vorbis, MP4)",
        description="Write each file's current caption and keywords into its own metadata, "
        "where Soundminer, BaseHead, Soundly and REAPER read them: WAV/BWF bext (first 256 "
        "bytes) + iXML USER + INFO; ID3 for MP3 and AIFF; Vorbis comments for FLAC, Ogg and "
        "Opus; MP4 atoms for M4A. Never automatic. Each write is atomic, read back, and "
        "leaves the audio unchanged; --undo puts back what the last write replaced.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files in the library (default: every file with a caption; with --undo, every "
        "file written)",
    )
    parser.add_argument("--dry-run", action="store_true", help="only list what would change")
    parser.add_argument("--undo", action="store_true", help="restore what the last write replaced")
    parser.add_argument(
        "--keep-mtime", action="store_true", help="keep each file's modification time"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.set_defaults(func=run_write_tags)


def run_write_tags(args: argparse.Namespace) -> int:
    """Write (or plan, or undo) tags file by file; exit 1 if any file failed."""
    from desktop.library.errors import UnknownFileError
    from desktop.library.metadata import (
        MetadataError,
        TagUpdate,
        plan_tags,
        restore_tags,
        write_tags,
    )

    failed = changed = 0
    with open_library(args) as lib:
        ids = _targets(lib, args)
        for file_id in ids:
            row = lib.get_file(file_id)
            if row is None:
                continue
            try:
                if args.undo:
                    record = lib.last_tag_write(file_id)
                    if record is None:
                        _say(args, row.path, "nothing to undo", [])
                        continue
                    report = restore_tags(row.path, record.undo, keep_mtime=args.keep_mtime)
                    lib.mark_tag_write_undone(record.id)
                    lib.add_paths([row.path])  # the library holds what the file says now
                else:
                    update = TagUpdate(description=row.caption or None, keywords=row.keywords)
                    if args.dry_run:
                        report = plan_tags(row.path, update)
                    else:
                        report = write_tags(row.path, update, keep_mtime=args.keep_mtime)
                        if report.undo is not None:
                            lib.record_tag_write(file_id, report.undo)
                        lib.add_paths([row.path])
            except MetadataError as exc:
                failed += 1
                _say(args, row.path, f"error: {exc}", [])
                continue
            changed += bool(report.changes)
            verb = "would change" if args.dry_run else "undone" if args.undo else "written"
            _say(args, row.path, verb if report.changes else "already up to date", report.changes)
        if not ids:
            if args.undo:
                print("nothing to undo: no file has a write by Earmark to put back")
                return 0
            raise UnknownFileError(
                "no files to write: give paths of files in the library, or caption some first"
            )
    what = "would change" if args.dry_run else "restored" if args.undo else "changed"
    print(f"{changed} file(s) {what}, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def _targets(lib: Any, args: argparse.Namespace) -> list[int]:
    from desktop.library.errors import UnknownFileError

    if args.paths:
        ids = []
        for path in args.paths:
            file_id = lib.file_id_for_path(os.path.abspath(path))
            if file_id is None:
                raise UnknownFileError(f"{path} is not in the library (add it first)")
            ids.append(file_id)
        return ids
    if args.undo:
        return list(lib.files_with_tag_writes())
    from desktop.library import FileQuery

    return [r.id for r in lib.iter_files(FileQuery(captioned=True, statuses=("ok",), sort="path"))]


def _say(args: argparse.Namespace, path: str, what: str, changes: Any) -> None:
    if args.json:
        print(json.dumps({"path": path, "result": what, "changes": [c.to_json() for c in changes]}))
        return
    print(f"{path}: {what}")
    for change in changes:
        print(f"    {change.source}: {change.before!r} -> {change.after!r}")
