"""Caption a dataset's clips (resumably) and score them into ``metrics.json`` and ``report.md``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from desktop.evaluation.datasets import Clip, Dataset
from desktop.evaluation.errors import EvaluationError
from desktop.evaluation.metrics import METRIC_NAMES, compute_metrics
from desktop.evaluation.predictions import PredictionStore, RunIdentity, read_predictions
from desktop.evaluation.report import paper_row, render_report, write_json

log = logging.getLogger(__name__)

__all__ = [
    "BASELINES",
    "CaptionerLike",
    "EvalOutcome",
    "ScoreOptions",
    "caption_clips",
    "evaluate",
    "run_identity",
    "score_predictions",
]

#: Baselines of the paper, as setting overrides.
BASELINES: dict[str, dict[str, str]] = {
    "no-audio": {"beta": "0", "l": "0"},
    "keywords-only": {"beta": "0"},
}
_BASELINE_DETAIL = {
    "no-audio": "beta = 0 and l = 0: the LLM alone, no audio guidance, no keywords",
    "keywords-only": "beta = 0: audio keywords in the prompt, no audio guidance while decoding",
}

Progress = Callable[[int, int, Clip, str], None]


class CaptionerLike(Protocol):
    """What the harness needs of ``captioner.Captioner`` (a fake one in unit tests)."""

    @property
    def config(self) -> Any: ...  # CaptionerConfig: has to_dict()

    @property
    def clap_ref(self) -> str: ...

    @property
    def llm_ref(self) -> str: ...

    def caption_many(self, sources: Iterable[Any], batch_size: int = 1) -> Iterator[Any]: ...


@dataclass(frozen=True)
class ScoreOptions:
    """Where the metrics' Java parts live, and what the run compares with.

    Attributes:
        metrics_cache: aac-metrics' cache folder (None: its default).
        java: Java executable (None: ``java`` on PATH).
        baseline: ``"no-audio"``, ``"keywords-only"`` or None.
    """

    metrics_cache: Path | None = None
    java: str | None = None
    baseline: str | None = None


@dataclass
class EvalOutcome:
    """A scored run.

    Attributes:
        payload: The content of ``metrics.json``.
        predictions: The predictions file.
        metrics_json: ``metrics.json``.
        report_md: ``report.md``.
    """

    payload: dict[str, Any]
    predictions: Path
    metrics_json: Path
    report_md: Path

    @property
    def scores(self) -> dict[str, Any]:
        """Metric name to a fraction or an ``"unavailable: ..."`` string."""
        return dict(self.payload["metrics"])


def run_identity(captioner: CaptionerLike) -> RunIdentity:
    """The settings and models that decide a captioner's output."""
    vocabulary = getattr(getattr(captioner, "vocabulary", None), "name", None)
    models = {
        "clap": str(captioner.clap_ref),
        "llm": str(captioner.llm_ref),
        "vocabulary": str(vocabulary or "audioset"),
    }
    # Precision and device change some captions: a run resumed on another kind of device, or
    # in another precision, is another run.
    device = getattr(captioner, "device", None)
    if isinstance(device, str):
        models["device"] = device.split(":")[0]
    dtype = getattr(captioner, "dtype", None)
    if isinstance(dtype, str):
        models["dtype"] = dtype
    preset = getattr(captioner.config, "preset_name", None)
    if isinstance(preset, str) and preset:
        models["preset"] = preset
    return RunIdentity(params=dict(captioner.config.to_dict()), models=models)


def caption_clips(
    captioner: CaptionerLike,
    clips: list[Clip],
    store: PredictionStore,
    *,
    batch_size: int = 1,
    progress: Progress | None = None,
) -> int:
    """Caption every clip with audio that ``store`` does not have yet; returns how many ran.

    Each result is written (and fsync'ed) before the next clip starts, so an interrupted run
    keeps everything finished so far.
    """
    present = [c for c in clips if c.audio_path is not None]
    done = {c.clip_id for c in present if store.is_done(c.clip_id)}
    todo = [c for c in present if c.clip_id not in done]
    if done:
        log.info("resuming: %d clip(s) already captioned with these settings", len(done))
    # The paper-released preset draws each long clip's crop from one stream in dataset order:
    # a resumed run replays the draws of the clips it skips, where they fall in that order.
    advance = getattr(captioner, "advance_crops", None)

    def sources() -> Iterator[str]:
        for clip in present:
            if clip.clip_id not in done:
                yield str(clip.audio_path)
            elif callable(advance):
                advance(str(clip.audio_path))

    results = captioner.caption_many(sources(), batch_size=batch_size)
    for number, (clip, result) in enumerate(zip(todo, results), start=1):
        text = getattr(result, "text", None)
        if isinstance(text, str):
            keywords = [
                {"keyword": k.keyword, "score": round(float(k.score), 5)}
                for k in getattr(result, "keywords", [])
            ]
            extra = {
                "window_policy": getattr(
                    getattr(result, "provenance", None), "window_policy", None
                ),
                "seconds": round(
                    float((getattr(result, "timings", None) or {}).get("total", 0)), 4
                ),
            }
            store.append(
                clip.clip_id,
                audio=str(clip.audio_path),
                caption=text,
                keywords=keywords,
                extra=extra,
            )
            shown = text
        else:
            error = str(getattr(result, "error", result))
            store.append(clip.clip_id, audio=str(clip.audio_path), error=error)
            shown = f"error: {error}"
        if progress is not None:
            progress(number, len(todo), clip, shown)
    return len(todo)


def _score(
    dataset: Dataset,
    captions: Mapping[str, Mapping[str, Any]],
    failures: Mapping[str, Mapping[str, Any]],
    identity: Mapping[str, Any],
    out_dir: Path,
    predictions: Path,
    options: ScoreOptions,
    notes: list[str],
) -> EvalOutcome:
    scored = [c for c in dataset.clips if c.clip_id in captions]
    failed = [
        {"clip_id": c.clip_id, "error": str(failures[c.clip_id].get("error", "unknown error"))}
        for c in dataset.clips
        if c.clip_id not in captions and c.clip_id in failures
    ]
    missing = [c.clip_id for c in dataset.missing]
    # Clips that could have been captioned but have no record at all (an interrupted run, or
    # a predictions file covering part of the split).
    could_run = [c for c in dataset.clips if c.audio_path is not None or dataset.audio_dir is None]
    not_predicted = [
        c.clip_id for c in could_run if c.clip_id not in captions and c.clip_id not in failures
    ]
    if scored:
        result = compute_metrics(
            [str(captions[c.clip_id]["caption"]) for c in scored],
            [list(c.references) for c in scored],
            cache_dir=options.metrics_cache,
            java=options.java,
        )
        metrics, tokenizer, detail = result.scores, result.tokenizer, result.tokenizer_detail
        notes = notes + result.notes
    else:
        metrics = {m: "unavailable: no clip has a caption to score" for m in METRIC_NAMES}
        tokenizer, detail = "none", "nothing was tokenised"
    try:
        from importlib.metadata import PackageNotFoundError, version

        aac_version = version("aac-metrics")
    except PackageNotFoundError:
        aac_version = "not installed"
    models = identity.get("models") or {}
    payload: dict[str, Any] = {
        "dataset": dataset.name,
        "captions_file": str(dataset.captions_path),
        "audio_dir": str(dataset.audio_dir) if dataset.audio_dir else None,
        "predictions": str(predictions),
        "baseline": options.baseline,
        "baseline_detail": _BASELINE_DETAIL.get(options.baseline or ""),
        "scale": "fractions as coco-caption returns them; the paper prints x100. CIDEr-D and "
        "SPIDEr are on a 0-10 scale, the others in [0, 1]",
        "metrics": metrics,
        "clips": {
            "total_in_file": dataset.total_clips,
            "evaluated": len(dataset.clips),
            "scored": len(scored),
            "missing_audio": len(missing),
            "failed": len(failed),
            "not_predicted": len(not_predicted),
        },
        "missing_audio_clips": missing,
        "failed_clips": failed,
        "examples": [
            {
                "clip_id": c.clip_id,
                "prediction": captions[c.clip_id]["caption"],
                "reference": c.references[0],
            }
            for c in scored[:5]
        ],
        "not_predicted_clips": not_predicted,
        "tokenizer": tokenizer,
        "tokenizer_detail": detail,
        "notes": notes,
        "run": dict(identity),
        "paper": paper_row(dataset.name, options.baseline, models.get("clap")),
        "aac_metrics_version": aac_version,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics_json = out_dir / "metrics.json"
    write_json(metrics_json, payload)
    report_md = out_dir / "report.md"
    report_md.write_text(render_report(payload), encoding="utf-8")
    return EvalOutcome(payload, predictions, metrics_json, report_md)


def evaluate(
    captioner: CaptionerLike,
    dataset: Dataset,
    out_dir: Path,
    *,
    options: ScoreOptions | None = None,
    restart: bool = False,
    batch_size: int = 1,
    progress: Progress | None = None,
) -> EvalOutcome:
    """Caption the dataset into ``out_dir/predictions.jsonl`` (resuming), then score it.

    Raises:
        EvaluationError: No clip has audio, or the predictions file holds other settings'
            captions (and ``restart`` is False).
    """
    opts = options or ScoreOptions()
    if not dataset.present:
        example = dataset.clips[0].names[:2] if dataset.clips else ()
        raise EvaluationError(
            f"no audio file found for any of the {len(dataset.clips)} clips in "
            f"{dataset.audio_dir} (looked for names like {', '.join(example)}); check --audio-dir"
            + (" or give --id-map" if dataset.name == "audiocaps" else "")
        )
    identity = run_identity(captioner)
    predictions = out_dir / "predictions.jsonl"
    out_dir.mkdir(parents=True, exist_ok=True)
    with PredictionStore.open(predictions, identity, restart=restart) as store:
        caption_clips(captioner, dataset.clips, store, batch_size=batch_size, progress=progress)
        captions, failures = store.captions, store.failures
    ident = {"params": identity.params, "models": identity.models, "run_key": identity.key}
    return _score(dataset, captions, failures, ident, out_dir, predictions, opts, [])


def score_predictions(
    predictions: Path,
    dataset: Dataset,
    out_dir: Path,
    *,
    options: ScoreOptions | None = None,
) -> EvalOutcome:
    """Score an existing predictions file against the dataset's references.

    Raises:
        EvaluationError: The file is unreadable, mixes several runs' settings, or none of its
            clip ids belong to the dataset.
    """
    opts = options or ScoreOptions()
    records = read_predictions(predictions)
    if not records:
        raise EvaluationError(f"{predictions} holds no predictions")
    keys = {r.get("run_key") for r in records}
    if len(keys) > 1:
        raise EvaluationError(
            f"{predictions} mixes captions from {len(keys)} different settings; "
            "score one run at a time"
        )
    known = dataset.by_id()
    captions: dict[str, dict[str, Any]] = {}
    failures: dict[str, dict[str, Any]] = {}
    for record in records:
        clip_id = record["clip_id"]
        if isinstance(record.get("caption"), str):
            captions[clip_id] = record
            failures.pop(clip_id, None)
        elif clip_id not in captions:
            failures[clip_id] = record
    unknown = sorted(set(captions) - set(known))
    if unknown and len(unknown) == len(captions):
        raise EvaluationError(
            f"none of the {len(captions)} predicted clip ids are in {dataset.captions_path} "
            f"(e.g. {unknown[0]!r}): is it the right dataset and split?"
        )
    notes = []
    if unknown:
        notes.append(f"{len(unknown)} predicted clip(s) are not in the caption file; ignored.")
        log.warning(notes[-1])
    first = records[0]
    identity = {
        "params": first.get("params") or {},
        "models": first.get("models") or {},
        "run_key": first.get("run_key"),
    }
    return _score(dataset, captions, failures, identity, out_dir, predictions, opts, notes)
