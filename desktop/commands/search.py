"""``earmark search QUERY``: find sounds by words (FTS5) or by meaning (CLAP)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from desktop.commands._common import add_model_options

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the ``search`` subcommand."""
    parser = subparsers.add_parser(
        "search",
        help="search the library by words or by meaning",
        description="Search file names, folders, captions, keywords and the files' own "
        "metadata. All words must match; the last one (and short ones) as a prefix. "
        '"quoted words" match as a phrase, -word leaves out what matches it, and a comma '
        "separates alternatives: `rain roof, drizzle -thunder`. --semantic ranks by what "
        "the sound is like (loads the audio-language model, not the language model; files "
        "need `earmark library index` or a caption first).",
    )
    parser.add_argument("query", metavar="QUERY", help="what to look for")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--semantic", action="store_true", help="rank by CLAP similarity to the query"
    )
    mode.add_argument("--hybrid", action="store_true", help="fuse word and semantic ranks")
    mode.add_argument(
        "--advanced", action="store_true", help="QUERY is SQLite FTS5 syntax (AND, OR, NEAR, ...)"
    )
    parser.add_argument(
        "--thesaurus",
        action="store_true",
        help="a word also matches its UCS names and synonyms (helicopter finds chopper); "
        "broad, so off by default",
    )
    parser.add_argument("--limit", type=int, default=20, metavar="N", help="most results (20)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    add_model_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the hits, best first; exit 1 when nothing matched."""
    from desktop.commands._library import open_library
    from desktop.library import SearchMode
    from desktop.library.errors import NothingToSearchError

    if args.limit < 1:
        print("earmark: error: --limit must be at least 1", file=sys.stderr)
        return 2
    if not args.query.strip():
        raise NothingToSearchError("nothing to search for: the search text is empty")
    mode: SearchMode = (
        "semantic"
        if args.semantic
        else "hybrid"
        if args.hybrid
        else "advanced"
        if args.advanced
        else "text"
    )
    with open_library(args, readonly=True) as lib:
        embed = model_id = None
        if mode in ("semantic", "hybrid"):
            if not lib.embedding_models():
                print(
                    "earmark: error: no indexed or captioned files yet, so nothing to compare "
                    "by sound; run `earmark library index` first",
                    file=sys.stderr,
                )
                return 2
            from desktop.commands._common import load_indexer

            # Comparing by sound needs the audio-language model only, never the LLM.
            indexer = load_indexer(args)
            embed, model_id = indexer.embed_text, indexer.embedding_model_id
        hits = lib.search(
            args.query,
            mode=mode,
            limit=args.limit,
            embed_text=embed,
            model_id=model_id,
            thesaurus=args.thesaurus,
        )
    if args.json:
        out = [
            {
                "id": h.file.id,
                "path": h.file.path,
                "score": h.score,
                "caption": h.file.caption,
                "keywords": list(h.file.keywords),
                "duration_s": h.file.duration_s,
                "status": h.file.status,
            }
            for h in hits
        ]
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        for h in hits:
            caption = h.file.caption or "(no caption)"
            print(f"{h.score:8.3f}  {h.file.path!r}  {caption}")
        if not hits:
            print("no matches", file=sys.stderr)
    return 0 if hits else 1
