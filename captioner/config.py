"""The captioner's knobs, grouped in one frozen dataclass with the paper's names.

``CaptionerConfig.preset("paper")`` gives the released ZerAuCap code's values (see
docs/zeraucap spec); ``"default"`` is the product default, which differs only where the product
needs it (long files are embedded as several windows instead of one random crop).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["PRESETS", "WINDOW_POLICIES", "CaptionerConfig"]

#: How audio longer than the model window becomes model input.
#: ``mean``: evenly spaced windows (at most ``max_windows``), mean of their L2-normalised
#: embeddings. ``random-crop``: the paper's single seeded random crop. ``first``: the first window.
WINDOW_POLICIES = ("mean", "random-crop", "first")


@dataclass(frozen=True)
class CaptionerConfig:
    """Every setting of ZerAuCap guided decoding plus the audio window policy.

    Attributes:
        k: Number of LLM candidates re-ranked at each step (paper: 45).
        alpha: Weight of the MAGIC/SimCTG degeneration penalty (paper: 0, i.e. off).
        beta: Weight of the audio-text match ``f`` in the score (released code: 0.5).
        tau: Multiplier of the cosine similarities before the softmax over candidates (10).
        gamma: End-token rule: an end token's score is multiplied by ``gamma * t`` (0.1).
        l: Number of keywords put in the prompt (2).
        max_length: Cap on the whole LLM sequence, BOS and prompt included (78).
        score_window: How many trailing LLM tokens of the continuation are scored (77).
        seed: Seed of anything random (the paper's random crop): 4182.
        window_policy: One of :data:`WINDOW_POLICIES`.
        max_windows: Most windows embedded for a long file under the ``mean`` policy.
        early_decision: Skip the text encoder in a step whose winner is already certain. Exact:
            captions are identical with it on or off.
        text_int8: Opt-in CPU speed mode that may change wording: int8 dynamic quantisation of
            the text encoder. Ignored on GPU.
    """

    k: int = 45
    alpha: float = 0.0
    beta: float = 0.5
    tau: float = 10.0
    gamma: float = 0.1
    l: int = 2  # noqa: E741 - the paper's name
    max_length: int = 78
    score_window: int = 77
    seed: int = 4182
    window_policy: str = "mean"
    max_windows: int = 8
    early_decision: bool = True
    text_int8: bool = False

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def preset(cls, name: str) -> CaptionerConfig:
        """Return a named preset: ``"paper"`` or ``"default"``.

        Raises:
            ValueError: For an unknown preset name.
        """
        try:
            values = PRESETS[name]
        except KeyError:
            raise ValueError(
                f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}"
            ) from None
        return cls(**values)

    def with_overrides(self, overrides: Mapping[str, Any]) -> CaptionerConfig:
        """Return a copy with some fields replaced; string values are parsed to the field type.

        Args:
            overrides: Field name to value, e.g. ``{"beta": "0.2", "l": "3"}``.

        Raises:
            ValueError: For an unknown field, a value that does not parse, or one out of range.
        """
        fields = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for key, raw in overrides.items():
            if key not in fields:
                raise ValueError(
                    f"unknown setting {key!r}; known settings: {', '.join(sorted(fields))}"
                )
            changes[key] = _parse(key, _DEFAULT_TYPES[key], raw)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a plain JSON-serialisable dict."""
        return dataclasses.asdict(self)


_DEFAULT_TYPES: dict[str, type] = {
    f.name: type(f.default) for f in dataclasses.fields(CaptionerConfig)
}

PRESETS: dict[str, dict[str, Any]] = {
    # The released code's values; the paper crops long clips once at random (seeded).
    "paper": {"window_policy": "random-crop"},
    # Product default: same method, but long files are summarised by several windows.
    "default": {"window_policy": "mean"},
}


def _parse(key: str, kind: type, raw: Any) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"setting {key!r} needs true or false, got {raw!r}")
    if isinstance(raw, bool) and kind is not bool:
        raise ValueError(f"setting {key!r} needs a {kind.__name__}, got {raw!r}")
    try:
        if kind is int:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return int(str(raw).strip()) if isinstance(raw, str) else int(raw)
        if kind is float:
            return float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"setting {key!r} needs a {kind.__name__}, got {raw!r}") from None
    return str(raw)


def _validate(cfg: CaptionerConfig) -> None:
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ValueError(message)

    for name in ("alpha", "beta", "tau", "gamma"):
        value = getattr(cfg, name)
        need(
            isinstance(value, (int, float)) and value == value and abs(value) != float("inf"),
            f"{name} must be a finite number, got {value!r}",
        )
    need(cfg.k >= 1, f"k must be at least 1, got {cfg.k}")
    need(0.0 <= cfg.alpha <= 1.0, f"alpha must be in [0, 1], got {cfg.alpha}")
    need(cfg.beta >= 0.0, f"beta must be >= 0, got {cfg.beta}")
    need(cfg.tau > 0.0, f"tau must be > 0, got {cfg.tau}")
    need(cfg.gamma >= 0.0, f"gamma must be >= 0, got {cfg.gamma}")
    need(cfg.l >= 0, f"l must be >= 0, got {cfg.l}")
    need(cfg.max_length >= 2, f"max_length must be at least 2, got {cfg.max_length}")
    need(cfg.score_window >= 1, f"score_window must be at least 1, got {cfg.score_window}")
    need(
        cfg.window_policy in WINDOW_POLICIES,
        f"window_policy must be one of {', '.join(WINDOW_POLICIES)}, got {cfg.window_policy!r}",
    )
    need(cfg.max_windows >= 1, f"max_windows must be at least 1, got {cfg.max_windows}")
