"""``earmark eval``: caption AudioCaps / Clotho clips and score them like the paper does."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from desktop.commands._common import add_model_options, load_captioner, parse_settings

log = logging.getLogger(__name__)

EPILOG = """examples:
  earmark eval --dataset audiocaps --captions test.csv --audio-dir audio/test --out runs/ac
  earmark eval --dataset clotho --captions clotho_captions_evaluation.csv \\
      --audio-dir evaluation --preset paper --out runs/clotho
  earmark eval --dataset audiocaps --captions val.csv --audio-dir audio/val --limit 100 \\
      --sweep beta=0,0.5,1.0 --sweep l=1,2,3 --out runs/sweep
  earmark eval --dataset audiocaps --captions test.csv --predictions runs/ac/predictions.jsonl

Writes predictions.jsonl (resumable: rerun the same command to continue), metrics.json
(fractions) and report.md (x100, beside the paper's numbers)."""


def register(subparsers: Any) -> None:
    """Add the ``eval`` subcommand."""
    from desktop.evaluation.datasets import DATASETS
    from desktop.evaluation.runner import BASELINES

    parser = subparsers.add_parser(
        "eval",
        help="score captions on AudioCaps or Clotho against the paper",
        description="Caption a captioning dataset's clips and compute BLEU, METEOR, ROUGE-L, "
        "CIDEr-D, SPICE and SPIDEr (coco-caption style), beside the paper's published numbers.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("dataset")
    data.add_argument("--dataset", choices=DATASETS, required=True, help="caption file layout")
    data.add_argument(
        "--captions", type=Path, required=True, metavar="CSV", help="reference captions"
    )
    data.add_argument(
        "--audio-dir", type=Path, metavar="DIR", help="folder with the clips' audio files"
    )
    data.add_argument(
        "--id-map",
        type=Path,
        metavar="CSV",
        help="AudioCaps: CSV 'id,file' mapping audiocap_id or <youtube_id>_<start_ms> to a file "
        "(default: look for <youtube_id>_<start_ms>, <audiocap_id>, Y<youtube_id> or "
        "<youtube_id> with a .wav/.flac/.mp3/.ogg/... extension)",
    )
    data.add_argument("--limit", type=int, metavar="N", help="only the first N clips")
    run = parser.add_argument_group("run")
    run.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (required unless --predictions; then it defaults to that file's folder)",
    )
    run.add_argument(
        "--predictions",
        type=Path,
        metavar="JSONL",
        help="score this existing predictions file instead of captioning",
    )
    run.add_argument(
        "--baseline",
        choices=list(BASELINES),
        help="paper baselines: no-audio (beta=0, l=0) or keywords-only (beta=0)",
    )
    run.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="sweep a setting over values, best on a validation split (repeatable: the grid of "
        "all combinations; one run folder each under OUT/runs, one table in OUT/sweep.md)",
    )
    run.add_argument(
        "--restart",
        action="store_true",
        help="when OUT holds predictions made with other settings, set them aside and start again",
    )
    run.add_argument(
        "--batch-size", type=int, default=1, metavar="N", help="clips decoded together"
    )
    metrics = parser.add_argument_group("metrics")
    metrics.add_argument(
        "--metrics-cache",
        type=Path,
        metavar="DIR",
        help="aac-metrics cache with the METEOR/SPICE/Stanford jars "
        "(default: $AAC_METRICS_CACHE_PATH or ~/.cache)",
    )
    metrics.add_argument("--java", metavar="PATH", help="Java executable (default: java)")
    add_model_options(parser)
    parser.set_defaults(func=run_eval)


def _fail(message: str) -> int:
    print(f"earmark eval: error: {message}", file=sys.stderr)
    return 2


def _progress(number: int, total: int, clip: Any, shown: str) -> None:
    print(f"[{number}/{total}] {clip.clip_id}: {shown}", file=sys.stderr, flush=True)


def _summary(payload: dict[str, Any], out: Path) -> None:
    from desktop.evaluation.metrics import METRIC_NAMES, is_unavailable

    clips = payload["clips"]
    print(
        f"scored {clips['scored']} of {clips['evaluated']} clips "
        f"({clips['missing_audio']} missing audio, {clips['failed']} failed)"
    )
    for name in METRIC_NAMES:
        value = payload["metrics"].get(name)
        shown = value if is_unavailable(value) else f"{100 * float(value):.1f}"
        print(f"  {name:8} {shown}")
    print(f"wrote {out / 'metrics.json'} and {out / 'report.md'}")


def run_eval(args: argparse.Namespace) -> int:
    """Run ``earmark eval``; exit code 2 on bad input, 1 if nothing could be scored."""
    from desktop.evaluation.datasets import load_dataset
    from desktop.evaluation.errors import EvaluationError
    from desktop.evaluation.runner import (
        BASELINES,
        ScoreOptions,
        evaluate,
        score_predictions,
    )
    from desktop.evaluation.sweep import grid, parse_sweep, run_sweep

    if args.batch_size < 1:
        return _fail("--batch-size must be at least 1")
    try:
        settings = parse_settings(list(args.settings))
        sweep = parse_sweep(args.sweep)
    except (ValueError, EvaluationError) as exc:
        return _fail(str(exc))
    if args.baseline:
        fixed = BASELINES[args.baseline]
        clash = [k for k in fixed if k in sweep or (k in settings and settings[k] != fixed[k])]
        if clash:
            return _fail(f"--baseline {args.baseline} fixes {', '.join(clash)}; do not set it too")
        args.settings = [*args.settings, *(f"{k}={v}" for k, v in fixed.items())]
    options = ScoreOptions(metrics_cache=args.metrics_cache, java=args.java, baseline=args.baseline)

    try:
        if args.predictions is not None:
            if sweep:
                return _fail("--sweep captions clips; it cannot be combined with --predictions")
            out = args.out or args.predictions.parent
            dataset = load_dataset(args.dataset, args.captions, None, limit=args.limit)
            outcome = score_predictions(args.predictions, dataset, out, options=options)
            _summary(outcome.payload, out)
            return 0 if outcome.payload["clips"]["scored"] else 1
        if args.out is None:
            return _fail("--out is required (where predictions, metrics and report go)")
        if args.audio_dir is None:
            return _fail("--audio-dir is required to caption clips (or give --predictions)")
        dataset = load_dataset(
            args.dataset, args.captions, args.audio_dir, id_map=args.id_map, limit=args.limit
        )
        if dataset.missing:
            print(
                f"earmark eval: warning: {len(dataset.missing)} of {len(dataset.clips)} clips "
                f"have no audio file in {args.audio_dir} (listed in metrics.json and report.md)",
                file=sys.stderr,
            )
        if not dataset.present:
            return _fail(
                f"no audio file found for any clip in {args.audio_dir} "
                f"(looked for e.g. {', '.join(dataset.clips[0].names[:2])})"
            )
        # Check every setting of every run before the slow model load.
        from desktop.commands._common import config_from_args

        base = config_from_args(args)
        for point in grid(sweep):
            base.with_overrides(point)
        # Models load once, after every input check passed.
        captioner = load_captioner(args)
        if sweep:
            rows, files = run_sweep(
                captioner,
                dataset,
                args.out,
                sweep,
                options=options,
                restart=args.restart,
                batch_size=args.batch_size,
                progress=_progress,
                on_run=lambda n, total, name: print(
                    f"== run {n}/{total}: {name}", file=sys.stderr, flush=True
                ),
            )
            print(files[0].read_text(encoding="utf-8"))
            print(f"wrote {', '.join(str(f) for f in files)}")
            return 0 if any(r["scored"] for r in rows) else 1
        outcome = evaluate(
            captioner,
            dataset,
            args.out,
            options=options,
            restart=args.restart,
            batch_size=args.batch_size,
            progress=_progress,
        )
        _summary(outcome.payload, args.out)
        return 0 if outcome.payload["clips"]["scored"] else 1
    except (EvaluationError, ValueError) as exc:
        return _fail(str(exc))
