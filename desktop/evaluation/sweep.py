"""A grid of decoding settings run with the models loaded once, summarised in one table."""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from desktop.evaluation.datasets import Dataset
from desktop.evaluation.errors import EvaluationError
from desktop.evaluation.report import write_sweep
from desktop.evaluation.runner import CaptionerLike, Progress, ScoreOptions, evaluate

log = logging.getLogger(__name__)

#: Settings the facade applies while loading the models (not per caption).
LOAD_TIME_SETTINGS = frozenset({"text_int8", "dtype"})

__all__ = ["LOAD_TIME_SETTINGS", "grid", "parse_sweep", "run_dir_name", "run_sweep", "with_config"]


def parse_sweep(items: Sequence[str]) -> dict[str, list[str]]:
    """Parse ``["beta=0,0.5,1.0", "l=1,2,3"]`` into ``{"beta": [...], "l": [...]}``.

    Raises:
        EvaluationError: An item without ``=``, with no values, or a key given twice.
    """
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        parts = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key or not parts:
            raise EvaluationError(f"--sweep needs KEY=V1,V2,..., got {item!r}")
        if key in out:
            raise EvaluationError(f"--sweep {key} given twice; list all its values in one")
        if key in LOAD_TIME_SETTINGS:
            raise EvaluationError(
                f"--sweep {key}: this setting takes effect when the models load, so it cannot "
                "change within one sweep; run one evaluation per value"
            )
        out[key] = list(dict.fromkeys(parts))  # repeated values would rerun the same point
    return out


def grid(sweep: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """Every combination of the swept values, first key varying slowest."""
    keys = list(sweep)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(sweep[k] for k in keys))]


def run_dir_name(point: Mapping[str, str]) -> str:
    """A folder name for one grid point, e.g. ``beta=0.5_l=2``."""
    name = "_".join(f"{k}={v}" for k, v in point.items())
    return re.sub(r"[^A-Za-z0-9=._-]", "-", name)


def with_config(captioner: Any, config: Any) -> Any:
    """The same loaded models with other decoding settings (no reload).

    Uses ``captioner.with_config`` when the facade has one; otherwise builds a new
    ``captioner.facade.Captioner`` around the already loaded models and keyword embeddings.
    """
    method = getattr(captioner, "with_config", None)
    if callable(method):
        return method(config)
    from captioner.facade import Captioner

    if not isinstance(captioner, Captioner):
        raise TypeError(f"cannot change the settings of a {type(captioner).__name__}")
    return Captioner(
        config,
        captioner.audio_model,
        captioner.lm,
        captioner.vocabulary,
        captioner.keyword_embeddings,
        clap_ref=captioner.clap_ref,
        llm_ref=captioner.llm_ref,
    )


def run_sweep(
    captioner: CaptionerLike,
    dataset: Dataset,
    out_dir: Path,
    sweep: Mapping[str, Sequence[str]],
    *,
    options: ScoreOptions | None = None,
    restart: bool = False,
    batch_size: int = 1,
    progress: Progress | None = None,
    on_run: Callable[[int, int, str], None] | None = None,
) -> tuple[list[dict[str, Any]], list[Path]]:
    """Run every grid point into ``out_dir/runs/<point>/`` and write the sweep table.

    Each point is an ordinary resumable run (its own predictions, metrics and report).
    ``on_run(number, total, name)`` is called as each point starts.

    Returns:
        The table rows and the files written (``sweep.md``, ``sweep.json``, ``sweep.csv``).

    Raises:
        EvaluationError: A swept setting is unknown or a value does not parse (checked for
            every point before anything runs).
    """
    base = captioner.config
    points = grid(sweep)
    configs = []
    for point in points:
        try:
            configs.append(base.with_overrides(point))
        except ValueError as exc:
            raise EvaluationError(f"--sweep: {exc}") from None
    rows: list[dict[str, Any]] = []
    for number, (point, config) in enumerate(zip(points, configs), start=1):
        name = run_dir_name(point)
        log.info("sweep %d/%d: %s", number, len(points), name)
        if on_run is not None:
            on_run(number, len(points), name)
        outcome = evaluate(
            with_config(captioner, config),
            dataset,
            out_dir / "runs" / name,
            options=options,
            restart=restart,
            batch_size=batch_size,
            progress=progress,
        )
        rows.append(
            {
                "settings": dict(point),
                "run_dir": f"runs/{name}",
                "scored": outcome.payload["clips"]["scored"],
                "metrics": outcome.scores,
            }
        )
    return rows, write_sweep(out_dir, list(sweep), rows)
