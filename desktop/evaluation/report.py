"""``metrics.json``, ``report.md`` and sweep tables, with the paper's published numbers beside ours.

JSON and CSV hold scores as fractions (coco-caption's scale); markdown tables show them x100 like
the paper, and say so in their header.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from desktop.evaluation.metrics import METRIC_NAMES, is_unavailable

log = logging.getLogger(__name__)

__all__ = [
    "PAPER_RESULTS",
    "paper_row",
    "render_report",
    "render_sweep_markdown",
    "write_json",
    "write_sweep",
]

#: ZerAuCap's published results (arXiv 2311.08396, x100; docs spec "Results to reproduce").
#: Keyed by (dataset, variant); the paper has no BLEU-2/3 columns, Clotho no BLEU-1.
PAPER_RESULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("audiocaps", "zeraucap"): {
        "label": "ZerAuCap (paper), AudioCaps test, 975 clips",
        "BLEU_1": 44.8, "BLEU_4": 6.8, "METEOR": 12.3, "ROUGE_L": 33.1,
        "CIDEr-D": 28.1, "SPICE": 8.6, "SPIDEr": 18.3,
    },
    ("audiocaps", "no-audio"): {
        "label": "no-audio baseline (paper), AudioCaps test",
        "BLEU_1": 18.8, "BLEU_4": 0.0, "METEOR": 4.1, "ROUGE_L": 17.8,
        "CIDEr-D": 0.1, "SPICE": 0.0, "SPIDEr": 0.0,
    },
    ("audiocaps", "keywords-only"): {
        "label": "beta = 0, keywords only (paper), AudioCaps test",
        "BLEU_1": 43.9, "BLEU_4": 6.3, "METEOR": 12.0, "ROUGE_L": 32.8,
        "CIDEr-D": 28.1, "SPICE": 8.2, "SPIDEr": 18.1,
    },
    ("audiocaps", "laion-clap"): {
        "label": "LAION CLAP + AudioSet keywords (paper), AudioCaps test",
        "BLEU_1": 42.3, "BLEU_4": 5.1, "METEOR": 11.5, "ROUGE_L": 30.9,
        "CIDEr-D": 26.7, "SPICE": 8.2, "SPIDEr": 17.4,
    },
    ("clotho", "zeraucap"): {
        "label": "ZerAuCap (paper), Clotho evaluation, 1045 clips",
        "BLEU_4": 2.9, "METEOR": 9.4, "ROUGE_L": 25.4,
        "CIDEr-D": 14.0, "SPICE": 5.3, "SPIDEr": 9.7,
    },
}  # fmt: skip

_HEADERS = {
    "BLEU_1": "B1",
    "BLEU_2": "B2",
    "BLEU_3": "B3",
    "BLEU_4": "B4",
    "METEOR": "METEOR",
    "ROUGE_L": "ROUGE-L",
    "CIDEr-D": "CIDEr-D",
    "SPICE": "SPICE",
    "SPIDEr": "SPIDEr",
}


def paper_row(dataset: str, baseline: str | None, clap: str | None = None) -> dict[str, Any] | None:
    """The paper's row to compare a run with, or None when the paper has none."""
    if baseline:
        return PAPER_RESULTS.get((dataset, baseline))
    if dataset == "audiocaps" and clap and "laion" in clap.lower():
        return PAPER_RESULTS[("audiocaps", "laion-clap")]
    return PAPER_RESULTS.get((dataset, "zeraucap"))


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write JSON atomically (temp file + rename), so a crash never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if is_unavailable(value):
        return "n/a"
    return f"{100 * float(value):.1f}"


def _paper_cell(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _listing(title: str, items: Sequence[str], limit: int = 20) -> list[str]:
    if not items:
        return []
    lines = ["", f"## {title} ({len(items)})", ""]
    lines += [f"- {item}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"- … and {len(items) - limit} more (all listed in metrics.json)")
    return lines


def render_report(payload: Mapping[str, Any]) -> str:
    """Render ``report.md`` from the ``metrics.json`` payload the runner builds."""
    clips = payload["clips"]
    scores: Mapping[str, Any] = payload["metrics"]
    run = payload.get("run") or {}
    models = run.get("models") or {}
    title = {"audiocaps": "AudioCaps", "clotho": "Clotho"}.get(payload["dataset"], "dataset")
    lines = [
        f"# Earmark evaluation: {title} (`{Path(payload['captions_file']).name}`)",
        "",
        f"Scored **{clips['scored']}** of {clips['evaluated']} clips"
        f" ({clips['missing_audio']} without an audio file, {clips['failed']} failed to caption;"
        f" {clips['total_in_file']} clips in the caption file).",
    ]
    if payload.get("baseline"):
        lines.append(f"Baseline: **{payload['baseline']}** ({payload.get('baseline_detail', '')}).")
    lines += [
        "",
        "## Scores (x100, as in the paper; metrics.json holds the same numbers as fractions)",
        "",
    ]
    header = ["", *(_HEADERS[m] for m in METRIC_NAMES)]
    rows = []
    paper = payload.get("paper")
    if paper:
        rows.append([paper["label"], *(_paper_cell(paper.get(m)) for m in METRIC_NAMES)])
    rows.append(
        [
            f"Earmark (this run), {clips['scored']} clips",
            *(_cell(scores.get(m)) for m in METRIC_NAMES),
        ]
    )
    lines += _table(header, rows)
    lines.append("")
    if paper:
        lines.append(
            "The paper's numbers are on the full official split with its WavCaps HTSAT-BERT model "
            "and OPT-1.3b; a run on fewer clips, other models or other settings is not expected "
            "to match them. `–`: the paper has no such column."
        )
    unavailable = [(m, v) for m, v in scores.items() if is_unavailable(v)]
    if unavailable:
        lines += ["", "Metrics not computed (`n/a` above):", ""]
        lines += [f"- **{m}**: {v[len('unavailable: ') :]}" for m, v in unavailable]
    lines += ["", f"Tokenisation: `{payload['tokenizer']}`: {payload['tokenizer_detail']}."]
    lines += [f"{note}" for note in payload.get("notes", [])]
    lines += ["", "## Settings", ""]
    lines += [f"- models: clap `{models.get('clap')}`, llm `{models.get('llm')}`, "
              f"vocabulary `{models.get('vocabulary')}`"]  # fmt: skip
    params = run.get("params") or {}
    if params:
        lines.append("- decoding: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    lines.append(f"- predictions: `{payload.get('predictions', 'predictions.jsonl')}`")
    examples = payload.get("examples") or []
    if examples:
        lines += ["", "## Examples (first clips; prediction, then the first reference)", ""]
        for ex in examples:
            lines.append(f"- `{ex['clip_id']}`: **{ex['prediction']}** / {ex['reference']}")
    lines += _listing("Clips without an audio file", payload.get("missing_audio_clips", []))
    failed = [f"{f['clip_id']}: {f['error']}" for f in payload.get("failed_clips", [])]
    lines += _listing("Clips that failed to caption", failed)
    return "\n".join(lines) + "\n"


def render_sweep_markdown(keys: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """One markdown table: a row per grid point, metrics x100."""
    header = [*keys, "clips", *(_HEADERS[m] for m in METRIC_NAMES)]
    body = [
        [str(row["settings"][k]) for k in keys]
        + [str(row["scored"])]
        + [_cell(row["metrics"].get(m)) for m in METRIC_NAMES]
        for row in rows
    ]
    lines = ["# Earmark sweep (scores x100)", "", *_table(header, body), ""]
    best = _best(keys, rows)
    if best:
        lines += [best, ""]
    reasons = sorted(
        {f"{m}: {v}" for row in rows for m, v in row["metrics"].items() if is_unavailable(v)}
    )
    if reasons:
        lines += ["`n/a`:", "", *[f"- {r}" for r in reasons], ""]
    return "\n".join(lines)


def _best(keys: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str | None:
    """Name the best grid point by SPIDEr, else CIDEr-D (the paper tuned on CIDEr/SPIDEr)."""
    for metric in ("SPIDEr", "CIDEr-D"):
        scored = [r for r in rows if isinstance(r["metrics"].get(metric), float)]
        if scored:
            top = max(scored, key=lambda r: float(r["metrics"][metric]))
            where = ", ".join(f"{k}={top['settings'][k]}" for k in keys)
            return f"Best by {metric}: **{where}** ({_cell(top['metrics'][metric])})."
    return None


def write_sweep(out: Path, keys: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[Path]:
    """Write ``sweep.md`` (x100), ``sweep.json`` and ``sweep.csv`` (fractions) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    md = out / "sweep.md"
    md.write_text(render_sweep_markdown(keys, rows), encoding="utf-8")
    js = out / "sweep.json"
    write_json(js, {"keys": list(keys), "scale": "fractions (paper x100)", "runs": list(rows)})
    table = out / "sweep.csv"
    with table.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*keys, "run_dir", "scored", *METRIC_NAMES])
        for row in rows:
            writer.writerow(
                [row["settings"][k] for k in keys]
                + [row["run_dir"], row["scored"]]
                + [row["metrics"].get(m, "") for m in METRIC_NAMES]
            )
    return [md, js, table]
