"""Hostile and odd model folders: refused with a message a user can act on, no code run.

torch's advice to re-run with ``weights_only=False`` and transformers' advice to pass
``trust_remote_code=True`` would both run code from a downloaded file; no message passes them on.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from captioner.errors import CaptionerError, ModelLoadError, safe_reason
from captioner.loading import load_captioner
from desktop.cli import main

UNSAFE = ("weights_only", "trust_remote_code", "arbitrary code")


class RunsCode:
    """A pickle that would create a file if it were ever unpickled."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.sentinel}",))


def remote_code_folder(base: Path, tiny_models: Path, sentinel: Path) -> Path:
    folder = base / "remote-code-llm"
    folder.mkdir()
    config = {
        "model_type": "evilnet",
        "architectures": ["EvilModel"],
        "auto_map": {"AutoConfig": "evil.EvilConfig", "AutoModelForCausalLM": "evil.EvilModel"},
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "evil.py").write_text(f"import os\nos.system('touch {sentinel}')\n")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_models / "llm" / name, folder / name)
    return folder


def pickled_weights_folder(base: Path, source: Path, sentinel: Path) -> Path:
    folder = base / f"pickled-{source.name}"
    shutil.copytree(source, folder)
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    torch.save({"weight": RunsCode(sentinel)}, folder / "pytorch_model.bin")
    return folder


def assert_safe(message: str) -> None:
    for phrase in UNSAFE:
        assert phrase not in message.lower(), message


def test_a_model_that_ships_code_is_refused_and_its_code_never_runs(
    tiny_models: Path, tmp_path: Path
) -> None:
    sentinel = tmp_path / "ran"
    folder = remote_code_folder(tmp_path, tiny_models, sentinel)
    with pytest.raises(ModelLoadError) as err:
        load_captioner("default", clap=str(tiny_models / "clap"), llm=str(folder), device="cpu")
    message = str(err.value)
    assert_safe(message)
    assert "never runs code from a model folder" in message and str(folder) in message
    assert not sentinel.exists()


@pytest.mark.parametrize("which", ["llm", "clap"])
def test_pickled_weights_that_run_code_are_refused(
    tiny_models: Path, tmp_path: Path, which: str
) -> None:
    sentinel = tmp_path / "ran"
    folder = pickled_weights_folder(tmp_path, tiny_models / which, sentinel)
    refs = {"clap": str(tiny_models / "clap"), "llm": str(tiny_models / "llm"), which: str(folder)}
    with pytest.raises(ModelLoadError) as err:
        load_captioner("default", device="cpu", **refs)
    message = str(err.value)
    assert_safe(message)
    assert "safetensors" in message and "never runs code" in message
    assert not sentinel.exists()


def test_the_cli_says_it_in_one_line(
    tiny_models: Path, tmp_path: Path, tone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sentinel = tmp_path / "ran"
    folder = pickled_weights_folder(tmp_path, tiny_models / "llm", sentinel)
    with pytest.raises(SystemExit) as exit_:
        main(["caption", str(tone), "--clap", str(tiny_models / "clap"), "--llm", str(folder)])
    text = str(exit_.value.code)
    assert text.startswith("earmark: error: language model") and "\n" not in text
    assert_safe(text)
    assert not sentinel.exists()


def test_safe_reason_rewrites_unsafe_advice_and_keeps_the_rest() -> None:
    torch_like = RuntimeError(
        "Weights only load failed. Re-running `torch.load` with `weights_only` set to `False` "
        "will likely succeed, but it can result in arbitrary code execution.\n"
        "Unsupported global: GLOBAL posix.system was not an allowed global"
    )
    hf_like = ValueError(
        "The repository x contains custom code which must be executed to correctly load the "
        "model. Please pass the argument `trust_remote_code=True` to allow custom code to be run."
    )
    for exc in (torch_like, hf_like):
        assert_safe(safe_reason(exc))
    assert "posix.system" in safe_reason(torch_like)
    assert safe_reason(OSError("no file named config.json\n  in the folder")) == (
        "no file named config.json in the folder"
    )
    assert len(safe_reason(ValueError("x" * 1000))) == 400
    assert safe_reason(CaptionerError()) == "CaptionerError"
