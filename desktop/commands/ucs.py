"""``earmark ucs``: the Universal Category System list, CatID suggestions and UCS file names.

``ucs find WORD...`` looks words up in the list (names, explanations, synonyms; no model);
``ucs suggest FILE...`` ranks CatIDs for each file zero-shot with the audio-language model
alone (never the LLM) and prints the top ones with their scores. Nothing is applied: choosing a
category stays the user's decision.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from desktop.commands._common import add_model_options

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``ucs`` subcommand group."""
    parser = subparsers.add_parser(
        "ucs",
        help="UCS categories: look up, suggest CatIDs for files",
        description="The Universal Category System (UCS 8.2.1, shipped; --list or "
        "EARMARK_UCS chooses another copy).",
    )
    parser.add_argument("--list", type=Path, default=None, metavar="FILE", help="UCS list file")
    sub = parser.add_subparsers(dest="ucs_command", required=True, metavar="COMMAND")

    find = sub.add_parser("find", help="look words up in the UCS list (no model)")
    find.add_argument("words", nargs="+", metavar="WORD")
    find.add_argument("--json", action="store_true", help="print JSON")
    find.set_defaults(func=run_find)

    suggest = sub.add_parser(
        "suggest", help="suggest CatIDs for sound files (loads the audio-language model only)"
    )
    suggest.add_argument("files", nargs="+", type=Path, metavar="FILE")
    suggest.add_argument("--top", type=int, default=3, metavar="N", help="suggestions per file")
    suggest.add_argument("--json", action="store_true", help="print JSON lines")
    add_model_options(suggest)
    suggest.set_defaults(func=run_suggest)


def run_find(args: argparse.Namespace) -> int:
    """Print the subcategories every word names (in its name, explanation or synonyms)."""
    from captioner.ucs import load_ucs

    ucs = load_ucs(args.list)
    words = [w.casefold() for w in args.words]
    hits = []
    for entry in ucs.entries:
        haystack = " ".join(
            [entry.category, entry.subcategory, entry.catid, entry.explanation, *entry.synonyms]
        ).casefold()
        if all(w in haystack for w in words):
            hits.append(entry)
    for entry in hits:
        if args.json:
            print(json.dumps({"catid": entry.catid, "category": entry.category_full}))
        else:
            print(f"{entry.catid:<10} {entry.category_full}  {entry.explanation}")
    if not hits:
        print("no UCS subcategory matches", file=sys.stderr)
    return 0 if hits else 1


def run_suggest(args: argparse.Namespace) -> int:
    """Print the top CatIDs per file; exit 1 if any file could not be read."""
    from captioner.types import CaptionFailure
    from captioner.ucs import load_ucs
    from captioner.ucs_suggest import UcsSuggester
    from desktop.commands._common import load_indexer

    if args.top < 1:
        print("earmark: error: --top must be at least 1", file=sys.stderr)
        return 2
    ucs = load_ucs(args.list)
    indexer = load_indexer(args)
    suggester = UcsSuggester(ucs, indexer.embed_text, model_key=indexer.embedding_model_id)
    failed = 0
    for path, result in zip(args.files, indexer.index_many([str(p) for p in args.files])):
        if isinstance(result, CaptionFailure):
            failed += 1
            print(f"{path}: {result.error}", file=sys.stderr)
            continue
        top = suggester.suggest(result.audio_embedding, args.top)
        if args.json:
            record = {
                "path": str(path),
                "suggestions": [
                    {"catid": s.catid, "category": s.category_full, "score": round(s.score, 4)}
                    for s in top
                ],
            }
            print(json.dumps(record))
        else:
            shown = ", ".join(f"{s.catid} {s.category_full} ({s.score:.3f})" for s in top)
            print(f"{path}: {shown}")
    return 1 if failed else 0
