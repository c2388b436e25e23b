"""Editing from the command line, as in the app: describe a file, see and restore its caption
history, find similar sounds, remove files or folders from the library (asking first)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from desktop.commands._library import open_library

__all__ = ["register", "register_library_actions"]


def register(subparsers: Any) -> None:
    """Add the top-level ``similar`` command."""
    similar = subparsers.add_parser(
        "similar",
        help="sounds that sound like a file (from the stored audio embeddings)",
        description="List the files whose audio embedding is closest to FILE's, best first, "
        "with cosine similarity. Needs no model: FILE must have been indexed or captioned.",
    )
    similar.add_argument("file", metavar="FILE", help="a file in the library")
    similar.add_argument("--limit", type=int, default=20, metavar="N", help="most results (20)")
    similar.add_argument("--json", action="store_true", help="print a JSON list")
    similar.set_defaults(func=run_similar)


def register_library_actions(sub: Any) -> None:
    """Add ``describe``, ``history``, ``restore`` and ``remove`` to the ``library`` actions."""
    describe = sub.add_parser(
        "describe",
        help="write a file's description (and keywords) yourself",
        description="Store your own description of FILE: it becomes the file's caption, is "
        "never replaced by re-captioning unless you ask, and the one it replaces stays in the "
        "history (`earmark library history FILE`).",
    )
    describe.add_argument("file", metavar="FILE")
    describe.add_argument("text", metavar="TEXT", help="the description")
    describe.add_argument("--keywords", default="", metavar="A,B", help="comma-separated keywords")
    describe.set_defaults(func=run_describe)

    history = sub.add_parser("history", help="every caption a file has had, newest first")
    history.add_argument("file", metavar="FILE")
    history.add_argument("--json", action="store_true", help="print JSON")
    history.set_defaults(func=run_history)

    restore = sub.add_parser(
        "restore", help="make an earlier caption current again (ids from `library history`)"
    )
    restore.add_argument("file", metavar="FILE")
    restore.add_argument("caption_id", type=int, metavar="CAPTION_ID")
    restore.set_defaults(func=run_restore)

    remove = sub.add_parser(
        "remove",
        help="forget files or a library folder (the files on disk stay)",
        description="Remove files, or a whole library folder, from the library: their captions "
        "(yours included), tags and embeddings are forgotten; the files on disk are not "
        "touched. Says what would be lost and asks, unless --yes.",
    )
    remove.add_argument("paths", nargs="+", metavar="PATH", help="files, or library folders")
    remove.add_argument("--yes", action="store_true", help="do not ask")
    remove.set_defaults(func=run_remove)


def _file_id(lib: Any, path: str) -> int:
    from desktop.library.errors import UnknownFileError

    file_id = lib.file_id_for_path(os.path.abspath(path))
    if file_id is None:
        raise UnknownFileError(f"{path} is not in the library (add it first)")
    return int(file_id)


def run_similar(args: argparse.Namespace) -> int:
    """Print similar files; exit 1 when there are none."""
    if args.limit < 1:
        print("earmark: error: --limit must be at least 1", file=sys.stderr)
        return 2
    with open_library(args, readonly=True) as lib:
        file_id = _file_id(lib, args.file)
        if lib.embedding(file_id) is None:
            print(
                "earmark: error: this file has no audio embedding yet; index or caption it "
                "first (`earmark library index`)",
                file=sys.stderr,
            )
            return 2
        hits = lib.similar(file_id, limit=args.limit)
    if args.json:
        print(
            json.dumps(
                [{"path": h.file.path, "score": h.score, "caption": h.file.caption} for h in hits],
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for h in hits:
            print(f"similarity {h.score:.3f}  {h.file.path!r}  {h.file.caption or ''}")
        if not hits:
            print("no other indexed files", file=sys.stderr)
    return 0 if hits else 1


def run_describe(args: argparse.Namespace) -> int:
    """Store the person's description."""
    from desktop.library.metadata import split_keywords

    with open_library(args) as lib:
        file_id = _file_id(lib, args.file)
        change = lib.save_user_edit(file_id, args.text, list(split_keywords(args.keywords)))
    if change.before == change.after:
        print("unchanged: that is already the file's description")
    else:
        earlier = f" (the earlier caption is #{change.before})" if change.before else ""
        print(f"saved as caption #{change.after}{earlier}")
    return 0


def run_history(args: argparse.Namespace) -> int:
    """List the caption history."""
    with open_library(args, readonly=True) as lib:
        records = lib.caption_history(_file_id(lib, args.file))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "text": r.text,
                        "keywords": [k for k, _ in r.keywords],
                        "source": r.source,
                        "created_at": r.created_at,
                        "current": r.current,
                    }
                    for r in records
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    who = {"user": "you", "file": "the file", "model": "AI"}
    for r in records:
        mark = "*" if r.current else " "
        print(f"{mark} #{r.id:<6} {who.get(r.source, r.source):<8} {r.text}")
    if not records:
        print("no captions yet")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """Make an earlier caption current."""
    from desktop.library.errors import UnknownFileError

    with open_library(args) as lib:
        file_id = _file_id(lib, args.file)
        if args.caption_id not in {r.id for r in lib.caption_history(file_id)}:
            raise UnknownFileError(
                f"caption #{args.caption_id} is not one of this file's (see `earmark library "
                "history FILE`)"
            )
        changes = lib.restore_captions({file_id: args.caption_id})
    print(f"caption #{args.caption_id} is current" + ("" if changes else " already"))
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Remove files or library folders, after saying what is lost."""
    from desktop.library import RemovalImpact

    with open_library(args) as lib:
        roots = {os.path.abspath(r.path): r for r in lib.roots()}
        impacts = lib.root_removal_impacts()
        root_ids: list[int] = []
        file_ids: list[int] = []
        for path in args.paths:
            full = os.path.abspath(path)
            if full in roots:
                root_ids.append(roots[full].id)
            else:
                file_ids.append(_file_id(lib, path))
        lost = lib.removal_impact(file_ids) if file_ids else RemovalImpact()
        for root_id in root_ids:
            part = impacts.get(root_id, RemovalImpact())
            lost = RemovalImpact(
                lost.files + part.files,
                lost.captioned + part.captioned,
                lost.user_captions + part.user_captions,
            )
        print(
            f"this forgets {lost.files:,} file(s), {lost.captioned:,} caption(s), "
            f"{lost.user_captions:,} of them written by you (the files on disk stay)",
            file=sys.stderr,
        )
        if not args.yes:
            if not sys.stdin.isatty():
                print("earmark: error: add --yes to remove without being asked", file=sys.stderr)
                return 2
            if input("remove? [y/N] ").strip().lower() not in ("y", "yes"):
                print("nothing removed")
                return 1
        removed = lib.remove_files(file_ids) if file_ids else 0
        for root_id in root_ids:
            lib.remove_root(root_id)
    print(f"removed {removed + sum(impacts[r].files for r in root_ids):,} file(s)")
    return 0
