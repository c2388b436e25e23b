"""``earmark models status|download``: see and fetch the models Earmark uses."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``models status`` and ``models download`` (and WavCaps import when available)."""
    parser = subparsers.add_parser(
        "models", help="show or download models", description="Show or download models."
    )
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    st = sub.add_parser("status", help="say which models are on this computer")
    st.add_argument(
        "refs", nargs="*", metavar="REF", help="models to check (default: the default models)"
    )
    st.add_argument("--json", action="store_true", help="one JSON object per line per model")
    st.set_defaults(func=run_status)

    dl = sub.add_parser("download", help="download models from Hugging Face (resumable)")
    dl.add_argument(
        "refs", nargs="*", metavar="REF", help="models to download (default: the default models)"
    )
    dl.set_defaults(func=run_download)

    try:
        from desktop.commands.wavcaps import register_models_subcommands
    except ImportError:
        return
    register_models_subcommands(sub)


def _default_refs() -> list[str]:
    from captioner.models import DEFAULT_CLAP, DEFAULT_LLM

    return [DEFAULT_CLAP, DEFAULT_LLM]


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def run_status(args: argparse.Namespace) -> int:
    """Print whether each model is present; exit code 1 if any is missing."""
    from captioner.models import WAVCAPS_FOLDER, models_dir, status

    refs = list(args.refs) or _default_refs()
    missing = 0
    for ref in refs:
        st = status(ref)
        missing += not st.present
        if args.json:
            print(
                json.dumps(
                    {
                        "ref": ref,
                        "present": st.present,
                        "path": str(st.path) if st.path else None,
                        "size_bytes": st.size_bytes,
                    }
                )
            )
        elif st.present:
            print(f"{ref}: present, {_size(st.size_bytes)} at {st.path}")
        else:
            print(f"{ref}: missing (earmark models download {ref})")
    if not args.refs and not args.json:
        wavcaps = models_dir() / WAVCAPS_FOLDER
        state = "imported" if wavcaps.is_dir() else "not imported"
        print(f"WavCaps HTSAT-BERT (paper presets): {state} ({wavcaps})")
    return 1 if missing else 0


def run_download(args: argparse.Namespace) -> int:
    """Download each model with a progress line on stderr."""
    from captioner.errors import CaptionerError
    from captioner.models import download

    refs = list(args.refs) or _default_refs()
    failed = 0
    for ref in refs:

        def progress(done: int, total: int, ref: str = ref) -> None:
            pct = 100.0 * done / total if total else 100.0
            print(
                f"\r{ref}: {_size(done)} / {_size(total)} ({pct:.0f}%)",
                end="",
                file=sys.stderr,
                flush=True,
            )

        try:
            path = download(ref, progress=progress)
        except CaptionerError as exc:
            print(f"\n{ref}: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"\n{ref}: ready at {path}", file=sys.stderr)
    return 1 if failed else 0
