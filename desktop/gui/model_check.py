"""Checks a model folder the moment it is chosen, by reading its files only (no torch, no Qt).

Loading a wrong folder would fail tens of seconds later, deep inside transformers; these checks
say at once, in a sentence, what is wrong: not a model folder at all (a folder of sounds), the
other kind of model, weights or tokenizer files missing, a stub tokenizer. Passing them does
not prove the weights load, only that the folder is what it claims to be. Runs on a pool
thread (it reads a tokenizer file of a few MB).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

__all__ = ["FolderCheck", "ModelKind", "check_model_folder", "looks_like_folder"]

ModelKind = Literal["clap", "llm"]

_KIND_NAMES = {"clap": "audio model (CLAP)", "llm": "language model"}
_WAVCAPS_MARKER = "earmark_wavcaps.json"
_AUDIO_SUFFIXES = (".wav", ".flac", ".aif", ".aiff", ".mp3", ".ogg", ".opus", ".caf", ".w64")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "vocab.txt", "merges.txt")
# A real text tokenizer has thousands of entries; one built from nothing has a handful.
_MIN_TOKENIZER_SIZE = 100
_CAUSAL_TYPES = frozenset(
    {"opt", "gpt2", "gptj", "gpt_neo", "gpt_neox", "llama", "mistral", "qwen2", "phi", "bloom"}
)


@dataclass(frozen=True)
class FolderCheck:
    """The verdict on a folder.

    Attributes:
        ok: Whether the folder can be used for the model it was chosen for.
        reason: Why not (a sentence to show as is), or a short summary when ``ok``.
    """

    ok: bool
    reason: str


def looks_like_folder(ref: str) -> bool:
    """True when a model reference is a local path rather than a Hugging Face id."""
    return ref.startswith((".", "/", "~")) or os.path.isdir(os.path.expanduser(ref))


def check_model_folder(path: str | os.PathLike[str], kind: ModelKind) -> FolderCheck:
    """Say whether ``path`` holds a usable model of ``kind``.

    Args:
        path: The folder the user chose.
        kind: ``"clap"`` for the audio model, ``"llm"`` for the language model.
    """
    folder = Path(path).expanduser()
    wanted = _KIND_NAMES[kind]
    if not folder.is_dir():
        return FolderCheck(False, f"{folder} is not a folder.")
    try:
        names = {p.name for p in folder.iterdir()}
    except OSError as exc:
        return FolderCheck(False, f"{folder.name} cannot be read ({exc.strerror or exc}).")
    if _WAVCAPS_MARKER in names:
        if kind == "llm":
            return FolderCheck(
                False,
                f"{folder.name} holds an imported WavCaps audio model, not a language model; "
                "choose it as the audio model.",
            )
        if not any(n.endswith(".safetensors") for n in names):
            return FolderCheck(False, f"{folder.name}: model.safetensors is missing.")
        return FolderCheck(True, "WavCaps HTSAT-BERT audio model")
    if "config.json" not in names:
        sounds = sum(1 for n in names if n.lower().endswith(_AUDIO_SUFFIXES))
        what = f"it holds {sounds} sound file(s)" if sounds else "it has no config.json"
        return FolderCheck(
            False,
            f"{folder.name} is not a model folder ({what}). Choose the folder that holds the "
            f"{wanted}'s config.json, weights and tokenizer files.",
        )
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return FolderCheck(False, f"{folder.name}: config.json is unreadable ({exc}).")
    problem = _type_problem(config, kind, folder.name)
    if problem:
        return FolderCheck(False, problem)
    has_weights = any(
        n.endswith((".safetensors", ".safetensors.index.json"))
        or (n.startswith("pytorch_model") and n.endswith((".bin", ".bin.index.json")))
        for n in names
    )
    if not has_weights:
        return FolderCheck(
            False,
            f"{folder.name} has no weights (model.safetensors): the download is incomplete.",
        )
    if kind == "clap" and "preprocessor_config.json" not in names:
        return FolderCheck(
            False, f"{folder.name}: preprocessor_config.json (the audio settings) is missing."
        )
    if not any(n in names for n in _TOKENIZER_FILES) and not any(
        n.endswith(".model") for n in names
    ):
        return FolderCheck(
            False, f"{folder.name} has no tokenizer files (tokenizer.json or vocab files)."
        )
    size = _tokenizer_size(folder / "tokenizer.json") if "tokenizer.json" in names else None
    if size is not None:
        if size < _MIN_TOKENIZER_SIZE:
            return FolderCheck(
                False,
                f"{folder.name}: its tokenizer has only {size} tokens (tokenizer files are "
                "incomplete); copy the model folder again.",
            )
        known = _vocab_size(config, kind)
        if known is not None and size > known:
            return FolderCheck(
                False,
                f"{folder.name}: its tokenizer has {size:,} tokens but the model knows only "
                f"{known:,}; the tokenizer belongs to another model.",
            )
    model_type = str(config.get("model_type"))
    tokens = f", {size:,}-token tokenizer" if size else ""
    return FolderCheck(True, f"{model_type} model{tokens}")


def _type_problem(config: dict[str, Any], kind: ModelKind, name: str) -> str:
    model_type = str(config.get("model_type") or "unknown")
    architectures = [str(a) for a in config.get("architectures") or []]
    causal = model_type in _CAUSAL_TYPES or any(a.endswith("ForCausalLM") for a in architectures)
    if kind == "clap" and model_type != "clap":
        hint = " (it is a language model: choose it as the language model)" if causal else ""
        return f"{name} is a {model_type} model, not a CLAP audio model{hint}."
    if kind == "llm" and not causal:
        hint = " (choose it as the audio model)" if model_type == "clap" else ""
        return f"{name} is a {model_type} model, not a language model that writes text{hint}."
    return ""


def _tokenizer_size(path: Path) -> int | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        vocab = data["model"]["vocab"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("tokenizer size of %s unknown: %s", path, exc)
        return None
    return len(vocab) if isinstance(vocab, (dict, list)) else None


def _vocab_size(config: dict[str, Any], kind: ModelKind) -> int | None:
    source = config.get("text_config") if kind == "clap" else config
    value = source.get("vocab_size") if isinstance(source, dict) else None
    return int(value) if isinstance(value, int) else None
