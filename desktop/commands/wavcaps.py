"""``earmark models import-wavcaps``: turn a WavCaps HTSAT-BERT checkpoint into an Earmark model.

Registered by ``desktop.commands.models`` under ``earmark models``. torch loads only when the
command runs, so ``earmark --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register_models_subcommands", "run_import"]


def register_models_subcommands(models_subparsers: Any) -> None:
    """Add ``import-wavcaps`` to the ``earmark models`` subcommands."""
    parser = models_subparsers.add_parser(
        "import-wavcaps",
        help="import a WavCaps HTSAT-BERT checkpoint (the paper's audio-language model)",
        description=(
            "Convert a WavCaps HTSAT-BERT retrieval checkpoint (e.g. HTSAT-BERT-PT.pt) into a "
            "safetensors model folder that Earmark loads with --clap OUT_DIR. The checkpoint is "
            "read without running any code from it."
        ),
    )
    parser.add_argument("checkpoint", metavar="CHECKPOINT.pt", help="the WavCaps .pt file")
    parser.add_argument(
        "out_dir",
        metavar="OUT_DIR",
        nargs="?",
        default=None,
        help="folder to create (default: Earmark's models folder, where --preset paper finds it)",
    )
    parser.add_argument(
        "--tokenizer",
        metavar="DIR",
        default=None,
        help="bert-base-uncased tokenizer folder to copy in (default: bert-base-uncased from "
        "the local Hugging Face cache, if there)",
    )
    parser.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    """Import the checkpoint; exit code 1 with a one-line message on failure."""
    from captioner.errors import CaptionerError
    from captioner.wavcaps import import_checkpoint

    out_dir = args.out_dir
    if out_dir is None:
        from captioner.models import WAVCAPS_FOLDER, models_dir

        out_dir = models_dir() / WAVCAPS_FOLDER
    print(f"importing {args.checkpoint} ...", file=sys.stderr, flush=True)
    try:
        path = import_checkpoint(args.checkpoint, out_dir, tokenizer_dir=args.tokenizer)
    except CaptionerError as exc:
        print(f"earmark: error: {exc}", file=sys.stderr)
        return 1
    print(f"imported WavCaps HTSAT-BERT into {Path(path)}")
    print(f"use it with: earmark caption --clap {Path(path)} FILE...")
    if not (Path(path) / "tokenizer_config.json").is_file():
        print(
            "note: no --tokenizer given; bert-base-uncased must be in the Hugging Face cache "
            "(earmark models download bert-base-uncased)",
            file=sys.stderr,
        )
    return 0
