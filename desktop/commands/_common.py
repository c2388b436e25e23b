"""Model options shared by every command that captions or embeds audio."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from captioner.config import DTYPES, PRESETS

if TYPE_CHECKING:  # pragma: no cover - keep `earmark --help` free of torch
    from captioner.config import CaptionerConfig
    from captioner.facade import Captioner
    from captioner.indexing import AudioIndexer
    from captioner.loading import LoadPlan

__all__ = [
    "add_model_options",
    "config_from_args",
    "load_captioner",
    "load_indexer",
    "parse_settings",
    "plan_from_args",
]


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--clap --llm --device --dtype --preset --set --vocabulary`` to ``parser``."""
    group = parser.add_argument_group("model options")
    group.add_argument(
        "--clap",
        metavar="REF",
        default=None,
        help="audio-language model: HF id or local folder (default: laion/larger_clap_general; "
        "with --preset paper or paper-released an imported WavCaps model if present)",
    )
    group.add_argument(
        "--llm",
        metavar="REF",
        default=None,
        help="language model: HF id or local folder (default: facebook/opt-1.3b)",
    )
    group.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda", "mps"],
        default="auto",
        help="where to run the models (default: auto = CUDA, then MPS, then CPU)",
    )
    group.add_argument(
        "--dtype",
        choices=list(DTYPES),
        default=None,
        help="model precision (default: the preset's: float32 for paper and paper-released; "
        "auto = half precision on a GPU, float32 on a CPU, for default)",
    )
    group.add_argument(
        "--preset",
        choices=list(PRESETS),
        default="default",
        help="settings preset: default (the product's), paper (the paper's method, fp32) or "
        "paper-released (the released code step for step, its quirks included); "
        "default: default",
    )
    group.add_argument(
        "--set",
        dest="settings",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override one setting, e.g. --set beta=0.2 --set l=3 (repeatable)",
    )
    group.add_argument(
        "--vocabulary",
        metavar="FILE",
        default=None,
        help="keyword vocabulary (.txt one per line, or .csv); default: AudioSet's 614 keywords",
    )


def parse_settings(items: list[str]) -> dict[str, str]:
    """Turn ``["beta=0.2", "l=3"]`` into a dict; raises ValueError on an item without ``=``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set needs KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def plan_from_args(args: argparse.Namespace) -> LoadPlan:
    """What the options ask to load, preset defaults applied (cheap: no torch).

    Raises:
        ValueError: Unknown setting or bad value (the message names it).
    """
    from captioner.loading import plan_load

    return plan_load(
        getattr(args, "preset", None) or "default",
        clap=getattr(args, "clap", None),
        llm=getattr(args, "llm", None),
        device=getattr(args, "device", None),
        dtype=getattr(args, "dtype", None),
        vocabulary=getattr(args, "vocabulary", None),
        overrides=parse_settings(list(getattr(args, "settings", None) or [])),
    )


def config_from_args(args: argparse.Namespace) -> CaptionerConfig:
    """Build the decoding config from ``--preset``, ``--set`` and ``--dtype``.

    Raises:
        ValueError: Unknown setting or bad value (the message names it).
    """
    return plan_from_args(args).config


def load_captioner(args: argparse.Namespace) -> Captioner:
    """Load the captioner the options ask for, through ``captioner.loading``.

    Raises:
        SystemExit: With one clear message when a model is missing or unusable, or a setting or
            the vocabulary is bad (argparse-style, so commands need no handling of their own).
    """
    from captioner.errors import CaptionerError

    try:
        return plan_from_args(args).load()
    except (CaptionerError, ValueError) as exc:
        raise SystemExit(f"earmark: error: {exc}") from None


def load_indexer(args: argparse.Namespace) -> AudioIndexer:
    """Load the audio-language model and vocabulary the options ask for, not the language
    model (``--llm`` is never looked at).

    Raises:
        SystemExit: As :func:`load_captioner`.
    """
    from captioner.errors import CaptionerError

    try:
        return plan_from_args(args).load_indexer()
    except (CaptionerError, ValueError) as exc:
        raise SystemExit(f"earmark: error: {exc}") from None
