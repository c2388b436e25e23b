"""``earmark caption FILE...``: caption audio files with ZerAuCap and print the results."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from desktop.commands._common import add_model_options, load_captioner

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the ``caption`` subcommand."""
    parser = subparsers.add_parser(
        "caption",
        help="caption audio files (no library needed)",
        description="Caption audio files with zero-shot AI (ZerAuCap) and print the captions.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files")
    parser.add_argument("--json", action="store_true", help="one JSON object per line per file")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=1,
        metavar="N",
        help="clips decoded together (faster on GPU; same captions)",
    )
    add_model_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Caption every file; exit code 1 if any file failed."""
    from captioner.types import CaptionFailure

    if args.batch_size < 1:
        print("earmark: error: --batch-size must be at least 1", file=sys.stderr)
        return 2
    captioner = load_captioner(args)
    failed = 0
    results = captioner.caption_many(args.files, batch_size=args.batch_size)
    for path, result in zip(args.files, results):
        if isinstance(result, CaptionFailure):
            failed += 1
            if args.json:
                print(json.dumps({"path": path, "error": result.error}), flush=True)
            else:
                print(f"{path}: error: {result.error}", file=sys.stderr, flush=True)
            continue
        if args.json:
            record = {
                "path": path,
                "caption": result.text,
                "keywords": [{"keyword": k.keyword, "score": k.score} for k in result.keywords],
                "prompt": result.prompt,
                "model": {"clap": result.provenance.clap, "llm": result.provenance.llm},
                "preset": result.provenance.preset,
                "dtype": result.provenance.dtype,
                "params": result.provenance.params,
                "window_policy": result.provenance.window_policy,
                "duration_s": result.duration_s,
                "timings_s": result.timings,
            }
            print(json.dumps(record), flush=True)
        else:
            keywords = ", ".join(k.keyword for k in result.keywords)
            print(f"{path}: {result.text}  [{keywords}]", flush=True)
    return 1 if failed else 0
