"""Model options shared by every command that captions or embeds audio."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - keep `earmark --help` free of torch
    from captioner.config import CaptionerConfig
    from captioner.facade import Captioner

__all__ = ["add_model_options", "config_from_args", "load_captioner", "parse_settings"]


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--clap --llm --device --preset --set --vocabulary`` to ``parser``."""
    group = parser.add_argument_group("model options")
    group.add_argument(
        "--clap",
        metavar="REF",
        default=None,
        help="audio-language model: HF id or local folder (default: laion/larger_clap_general; "
        "with --preset paper an imported WavCaps model if present)",
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
        "--preset",
        choices=["paper", "default"],
        default="default",
        help="decoding settings preset (default: default)",
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


def config_from_args(args: argparse.Namespace) -> CaptionerConfig:
    """Build the decoding config from ``--preset`` and ``--set``.

    Raises:
        ValueError: Unknown setting or bad value (the message names it).
    """
    from captioner.config import CaptionerConfig

    cfg = CaptionerConfig.preset(getattr(args, "preset", None) or "default")
    return cfg.with_overrides(parse_settings(list(getattr(args, "settings", None) or [])))


def load_captioner(args: argparse.Namespace) -> Captioner:
    """Load the captioner the options ask for.

    Raises:
        SystemExit: With one clear message when a model is missing or unusable, or a setting or
            the vocabulary is bad (argparse-style, so commands need no handling of their own).
    """
    from captioner.errors import CaptionerError
    from captioner.facade import Captioner
    from captioner.models import DEFAULT_LLM, default_clap_for_preset

    try:
        cfg = config_from_args(args)
        preset = getattr(args, "preset", None) or "default"
        return Captioner.load(
            cfg,
            clap=getattr(args, "clap", None) or default_clap_for_preset(preset),
            llm=getattr(args, "llm", None) or DEFAULT_LLM,
            device=getattr(args, "device", None) or "auto",
            vocabulary=getattr(args, "vocabulary", None),
        )
    except (CaptionerError, ValueError) as exc:
        raise SystemExit(f"earmark: error: {exc}") from None
