"""The captioner's knobs, grouped in one frozen dataclass with the paper's names.

Three presets (docs/ZERAUCAP.md has the table of every difference):

* ``"paper"``: the paper's method done right, in float32 (one seeded crop per long file).
* ``"paper-released"``: the released ZerAuCap code step for step, quirks included (end-token
  multiplier at its sorted-order index, special tokens as caption tokens, duplicate keywords, its
  ``l = 1`` prompt, one seeded crop stream in dataset order, float32).
* ``"default"``: the product default: the paper's method, long files summarised by several
  windows, half precision on a GPU.

Each knob's user-facing label, help text and valid range live once, on its field's metadata;
:func:`knobs` and :func:`knob` read them (the GUI builds its settings from them, validation
checks against them).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

__all__ = [
    "DTYPES",
    "PRESETS",
    "WINDOW_POLICIES",
    "CaptionerConfig",
    "Knob",
    "knob",
    "knobs",
]

#: How audio longer than the model window becomes model input.
#: ``mean``: evenly spaced windows (at most ``max_windows``), mean of their L2-normalised
#: embeddings. ``random-crop``: the paper's single seeded random crop, the same for a file
#: wherever and whenever it is captioned. ``released-crop``: the released code's crops, drawn
#: from one seeded stream in the order clips are captioned. ``first``: the first window.
WINDOW_POLICIES = ("mean", "random-crop", "released-crop", "first")

#: Model precisions; ``auto`` is half precision on a GPU and float32 on a CPU.
DTYPES = ("auto", "float32", "float16", "bfloat16")


@dataclass(frozen=True)
class Knob:
    """What a user interface needs to offer one setting.

    Attributes:
        name: The field name (``--set name=value``).
        label: Short label, e.g. ``"Audio match weight (β)"``.
        help: One sentence saying what it does.
        kind: ``int``, ``float``, ``bool`` or ``str``.
        default: The dataclass default (the ``default`` preset's value unless a preset sets it).
        minimum: Smallest valid value (numbers only).
        maximum: Largest valid value (numbers only).
        step: A sensible spin-box step (numbers only).
        choices: The valid values of a ``str`` knob.
        advanced: True for settings most users never touch.
    """

    name: str
    label: str
    help: str
    kind: type
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    advanced: bool = False


def _num(
    label: str, help: str, minimum: float, maximum: float, step: float, *, advanced: bool = False
) -> dict[str, Any]:
    return {
        "label": label,
        "help": help,
        "minimum": minimum,
        "maximum": maximum,
        "step": step,
        "advanced": advanced,
    }


def _choice(label: str, help: str, choices: tuple[str, ...]) -> dict[str, Any]:
    return {"label": label, "help": help, "choices": choices, "advanced": True}


def _flag(label: str, help: str) -> dict[str, Any]:
    return {"label": label, "help": help, "advanced": True}


@dataclass(frozen=True)
class CaptionerConfig:
    """Every setting of ZerAuCap guided decoding plus the audio window policy and precision.

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
        dtype: Model precision, one of :data:`DTYPES`.
        released_code: Reproduce the released ZerAuCap code's decoding quirks (see the module
            docstring); False is the paper's method as described.
        preset_name: The preset this configuration started from (provenance only: not a
            setting, not in :meth:`to_dict`).
    """

    k: int = field(
        default=45,
        metadata=_num(
            "Candidates per step (k)",
            "How many of the language model's likeliest next words are re-ranked by the audio.",
            1,
            500,
            1,
        ),
    )
    alpha: float = field(
        default=0.0,
        metadata=_num(
            "Repetition penalty (α)",
            "Weight of the degeneration penalty against repeating the context (paper: off).",
            0.0,
            1.0,
            0.05,
        ),
    )
    beta: float = field(
        default=0.5,
        metadata=_num(
            "Audio match weight (β)",
            "How strongly the sound steers each word; 0 leaves only the keywords.",
            0.0,
            10.0,
            0.05,
        ),
    )
    tau: float = field(
        default=10.0,
        metadata=_num(
            "Similarity scale (τ)",
            "Sharpness of the audio-text match across candidates.",
            0.1,
            100.0,
            0.5,
        ),
    )
    gamma: float = field(
        default=0.1,
        metadata=_num(
            "End-of-caption rule (γ)",
            "An ending word's score is multiplied by γ times the words written so far.",
            0.0,
            1.0,
            0.01,
        ),
    )
    l: int = field(  # noqa: E741 - the paper's name
        default=2,
        metadata=_num(
            "Keywords in prompt (l)",
            "How many vocabulary keywords closest to the sound are given to the language model.",
            0,
            20,
            1,
        ),
    )
    max_length: int = field(
        default=78,
        metadata=_num(
            "Longest caption (tokens)",
            "Cap on prompt plus caption, in language-model tokens.",
            2,
            2048,
            1,
        ),
    )
    score_window: int = field(
        default=77,
        metadata=_num(
            "Scored tokens",
            "How many trailing caption tokens the audio-text match reads.",
            1,
            2048,
            1,
            advanced=True,
        ),
    )
    seed: int = field(
        default=4182,
        metadata=_num(
            "Random seed",
            "Seed of the random crop of long files.",
            0,
            2**31 - 1,
            1,
            advanced=True,
        ),
    )
    window_policy: str = field(
        default="mean",
        metadata=_choice(
            "Long files",
            "How audio longer than the model window is read: several windows averaged, one "
            "random crop, the released code's crop stream, or the first window.",
            WINDOW_POLICIES,
        ),
    )
    max_windows: int = field(
        default=8,
        metadata=_num(
            "Windows per long file",
            "Most windows embedded for a long file when windows are averaged.",
            1,
            64,
            1,
            advanced=True,
        ),
    )
    early_decision: bool = field(
        default=True,
        metadata=_flag(
            "Skip settled steps",
            "Skip the text encoder when a step's winner is already certain (same captions).",
        ),
    )
    text_int8: bool = field(
        default=False,
        metadata=_flag(
            "Fast text encoder (CPU)",
            "int8 text encoder on a CPU: faster, may change wording.",
        ),
    )
    dtype: str = field(
        default="auto",
        metadata=_choice(
            "Precision",
            "Model precision: auto is half precision on a GPU and float32 on a CPU.",
            DTYPES,
        ),
    )
    released_code: bool = field(
        default=False,
        metadata=_flag(
            "Released-code quirks",
            "Reproduce the released ZerAuCap code exactly, its mistakes included.",
        ),
    )
    preset_name: str = field(default="", compare=False, metadata={"knob": False})

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def preset(cls, name: str) -> CaptionerConfig:
        """Return a named preset: ``"paper"``, ``"paper-released"`` or ``"default"``.

        Raises:
            ValueError: For an unknown preset name.
        """
        try:
            values = PRESETS[name]
        except KeyError:
            raise ValueError(
                f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}"
            ) from None
        return cls(**values, preset_name=name)

    def with_overrides(self, overrides: Mapping[str, Any]) -> CaptionerConfig:
        """Return a copy with some fields replaced; string values are parsed to the field type.

        Args:
            overrides: Field name to value, e.g. ``{"beta": "0.2", "l": "3"}``.

        Raises:
            ValueError: For an unknown field, a value that does not parse, or one out of range.
        """
        known = {k.name for k in knobs()}
        changes: dict[str, Any] = {}
        for key, raw in overrides.items():
            if key not in known:
                raise ValueError(
                    f"unknown setting {key!r}; known settings: {', '.join(sorted(known))}"
                )
            changes[key] = _parse(key, _DEFAULT_TYPES[key], raw)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a plain JSON-serialisable dict (the preset name left out)."""
        out = dataclasses.asdict(self)
        out.pop("preset_name", None)
        return out


_DEFAULT_TYPES: dict[str, type] = {
    f.name: type(f.default) for f in dataclasses.fields(CaptionerConfig)
}

PRESETS: dict[str, dict[str, Any]] = {
    # The paper's method as described, in the paper's precision; long clips get one seeded crop.
    "paper": {"window_policy": "random-crop", "dtype": "float32"},
    # The released code step for step, quirks and all (docs/ZERAUCAP.md lists them).
    "paper-released": {
        "window_policy": "released-crop",
        "dtype": "float32",
        "released_code": True,
        # Its end-token rule depends on the final sort order, so no step is settled early.
        "early_decision": False,
    },
    # Product default: same method, long files summarised by several windows.
    "default": {"window_policy": "mean", "dtype": "auto"},
}


@functools.cache
def knobs() -> tuple[Knob, ...]:
    """Every user-facing setting of :class:`CaptionerConfig`, in field order."""
    out = []
    for f in dataclasses.fields(CaptionerConfig):
        meta = f.metadata
        if meta.get("knob", True) is False:
            continue
        out.append(
            Knob(
                name=f.name,
                label=str(meta.get("label", f.name)),
                help=str(meta.get("help", "")),
                kind=_DEFAULT_TYPES[f.name],
                default=f.default,
                minimum=meta.get("minimum"),
                maximum=meta.get("maximum"),
                step=meta.get("step"),
                choices=tuple(meta.get("choices", ())),
                advanced=bool(meta.get("advanced", False)),
            )
        )
    return tuple(out)


def knob(name: str) -> Knob:
    """The :class:`Knob` of one setting.

    Raises:
        KeyError: No such setting.
    """
    for item in knobs():
        if item.name == name:
            return item
    raise KeyError(name)


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
    return str(raw).strip()


def _validate(cfg: CaptionerConfig) -> None:
    for item in knobs():
        value = getattr(cfg, item.name)
        if item.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{item.name} must be true or false, got {value!r}")
        elif item.kind is str:
            if value not in item.choices:
                raise ValueError(
                    f"{item.name} must be one of {', '.join(item.choices)}, got {value!r}"
                )
        else:
            ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
            if item.kind is int and not (ok_type and float(value).is_integer()):
                raise ValueError(f"{item.name} must be a whole number, got {value!r}")
            if not ok_type or not math.isfinite(value):
                raise ValueError(f"{item.name} must be a finite number, got {value!r}")
            if item.minimum is not None and value < item.minimum:
                raise ValueError(f"{item.name} must be at least {item.minimum:g}, got {value}")
            if item.maximum is not None and value > item.maximum:
                raise ValueError(f"{item.name} must be at most {item.maximum:g}, got {value}")
    if not isinstance(cfg.preset_name, str):
        raise ValueError(f"preset_name must be a string, got {cfg.preset_name!r}")
