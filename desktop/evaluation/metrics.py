"""Corpus-level captioning metrics, the coco-caption way, through ``aac-metrics``.

Every sentence is PTB-tokenised first (:mod:`desktop.evaluation.ptb`), then BLEU-1..4, ROUGE-L
and CIDEr-D run in Python (aac-metrics ports of coco-caption's scorers), METEOR 1.5 and SPICE run
aac-metrics' Java wrappers. A metric that cannot run (no Java, a jar not downloaded, too few
clips) becomes ``"unavailable: <reason>"``; scoring never fails for that.

Scores are fractions as coco-caption returns them (the paper prints them x100). BLEU, METEOR,
ROUGE-L and SPICE lie in [0, 1]; CIDEr-D (and so SPIDEr) is on coco-caption's 0-10 scale, below
1 for every zero-shot system so far.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.evaluation.ptb import Tokenizer, choose_tokenizer, python_ptb_tokenize

log = logging.getLogger(__name__)

__all__ = [
    "METRIC_NAMES",
    "MetricScores",
    "compute_metrics",
    "default_metrics_cache",
    "is_unavailable",
    "java_major_version",
]

METRIC_NAMES = (
    "BLEU_1",
    "BLEU_2",
    "BLEU_3",
    "BLEU_4",
    "METEOR",
    "ROUGE_L",
    "CIDEr-D",
    "SPICE",
    "SPIDEr",
)

Score = float | str


def is_unavailable(value: Any) -> bool:
    """True for a metric value that is an ``"unavailable: ..."`` string."""
    return isinstance(value, str) and value.startswith("unavailable")


def default_metrics_cache() -> Path:
    """aac-metrics' cache folder: ``$AAC_METRICS_CACHE_PATH`` or ``~/.cache`` (its default)."""
    return Path(os.environ.get("AAC_METRICS_CACHE_PATH") or "~/.cache").expanduser()


@dataclass
class MetricScores:
    """The scores of one set of predictions.

    Attributes:
        scores: Metric name (see :data:`METRIC_NAMES`) to a float, or ``"unavailable: why"``.
        tokenizer: Which PTB tokenizer ran (``"stanford-ptb"`` or ``"python-ptb-fallback"``).
        tokenizer_detail: Why that tokenizer.
        n_clips: Number of (candidate, references) pairs scored.
        notes: Anything else a reader of the numbers should know.
    """

    scores: dict[str, Score]
    tokenizer: str
    tokenizer_detail: str
    n_clips: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form."""
        return {
            "scores": dict(self.scores),
            "tokenizer": self.tokenizer,
            "tokenizer_detail": self.tokenizer_detail,
            "n_clips": self.n_clips,
            "notes": list(self.notes),
        }


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"unavailable: {text[:400]}"


def _tokenize_all(
    tokenizer: Tokenizer, candidates: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[Tokenizer, list[str], list[list[str]]]:
    # One tokenizer call for everything: the Java start-up dominates otherwise.
    flat = list(candidates) + [r for refs in references for r in refs]
    try:
        tokens = tokenizer.tokenize(flat)
    except (OSError, RuntimeError, ValueError, TimeoutError) as exc:
        log.warning("Stanford tokenizer failed, using the Python fallback: %s", exc)
        tokenizer = Tokenizer(
            "python-ptb-fallback",
            f"pure-Python PTB-style tokenizer (Stanford's failed: {exc})",
        )
        tokens = [" ".join(python_ptb_tokenize(s)) for s in flat]
    cands = tokens[: len(candidates)]
    refs: list[list[str]] = []
    pos = len(candidates)
    for group in references:
        refs.append(tokens[pos : pos + len(group)])
        pos += len(group)
    return tokenizer, cands, refs


def compute_metrics(
    candidates: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    cache_dir: Path | None = None,
    java: str | None = None,
) -> MetricScores:
    """Score candidates against their references (corpus level, coco-caption style).

    Args:
        candidates: One predicted caption per clip.
        references: The reference captions of each clip (at least one each).
        cache_dir: aac-metrics' cache folder holding the Java jars (default:
            :func:`default_metrics_cache`).
        java: Java executable (default: ``java`` on PATH).

    Raises:
        ValueError: Different numbers of candidates and reference groups, an empty reference
            group, or no clips at all.
    """
    if len(candidates) != len(references):
        raise ValueError(f"{len(candidates)} candidates but {len(references)} reference groups")
    if not candidates:
        raise ValueError("nothing to score: no predicted captions")
    if any(len(group) == 0 for group in references):
        raise ValueError("every clip needs at least one reference caption")
    cache = cache_dir if cache_dir is not None else default_metrics_cache()
    tokenizer, cands, refs = _tokenize_all(choose_tokenizer(cache, java), candidates, references)

    from aac_metrics.functional.bleu import bleu
    from aac_metrics.functional.cider_d import cider_d
    from aac_metrics.functional.rouge_l import rouge_l

    scores: dict[str, Score] = {}
    notes: list[str] = []
    try:
        corpus, _ = bleu(cands, refs, n=4, return_1_to_n=True)
        for i, value in enumerate(corpus["bleu_1_to_4"].tolist(), start=1):
            scores[f"BLEU_{i}"] = float(value)
    except (ValueError, ZeroDivisionError) as exc:
        for i in range(1, 5):
            scores[f"BLEU_{i}"] = _reason(exc)
    scores["METEOR"] = _java_metric("meteor", cands, refs, cache, java)
    try:
        scores["ROUGE_L"] = float(rouge_l(cands, refs)[0]["rouge_l"])
    except (ValueError, ZeroDivisionError) as exc:
        scores["ROUGE_L"] = _reason(exc)
    if len(cands) < 2:
        # CIDEr-D's IDF weights come from the corpus itself; one clip has none.
        scores["CIDEr-D"] = "unavailable: CIDEr-D needs at least 2 clips (IDF over the corpus)"
    else:
        try:
            scores["CIDEr-D"] = float(cider_d(cands, refs)[0]["cider_d"])
        except (ValueError, ZeroDivisionError) as exc:
            scores["CIDEr-D"] = _reason(exc)
    scores["SPICE"] = _java_metric("spice", cands, refs, cache, java)
    cider, spice = scores["CIDEr-D"], scores["SPICE"]
    if isinstance(cider, float) and isinstance(spice, float):
        scores["SPIDEr"] = (cider + spice) / 2
    else:
        missing = [n for n, v in (("CIDEr-D", cider), ("SPICE", spice)) if is_unavailable(v)]
        scores["SPIDEr"] = f"unavailable: needs CIDEr-D and SPICE ({', '.join(missing)} missing)"
    return MetricScores(scores, tokenizer.label, tokenizer.detail, len(cands), notes)


def java_major_version(java: str) -> int | None:
    """Major version of a Java executable (8 for "1.8.0_392", 17 for "17.0.15"), or None."""
    import re
    import subprocess

    try:
        proc = subprocess.run(
            [java, "-version"], capture_output=True, check=False, timeout=30, text=True
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if match is None:
        return None
    first, second = int(match.group(1)), int(match.group(2) or 0)
    return second if first == 1 else first


def _java_metric(
    name: str, cands: list[str], refs: list[list[str]], cache: Path, java: str | None
) -> Score:
    """Run aac-metrics' METEOR or SPICE; any failure becomes an explanation."""
    import shutil

    jar = {
        "meteor": cache / "aac-metrics" / "meteor" / "meteor-1.5.jar",
        "spice": cache / "aac-metrics" / "spice" / "spice-1.0.jar",
    }[name]
    java_exe = shutil.which(java or "java")
    if java_exe is None:
        return f"unavailable: {name.upper()} needs Java ({java or 'java'} not found on PATH)"
    if not jar.is_file():
        return (
            f"unavailable: {name.upper()} jar not found at {jar}; run `aac-metrics-download` "
            f"on a computer with internet and copy {cache / 'aac-metrics'} here "
            "(or set AAC_METRICS_CACHE_PATH)"
        )
    major = java_major_version(java_exe)
    if major is not None and not 8 <= major <= 13:
        # aac-metrics 0.5.4 refuses other versions itself; say it plainly, with the fix.
        return (
            f"unavailable: aac-metrics runs {name.upper()} only with Java 8-13, found Java "
            f"{major} at {java_exe}; pass --java with a Java 8-13 executable"
        )
    try:
        if name == "meteor":
            from aac_metrics.functional.meteor import meteor

            value = meteor(cands, refs, cache_path=str(cache), java_path=java_exe)[0]["meteor"]
        else:
            from aac_metrics.functional.spice import spice

            value = spice(cands, refs, cache_path=str(cache), java_path=java_exe)[0]["spice"]
        return float(value)
    except Exception as exc:  # a Java tool can fail in many ways; never fatal
        log.warning("%s failed: %s", name.upper(), exc)
        return _reason(exc)
