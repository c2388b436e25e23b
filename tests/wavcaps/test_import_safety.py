"""What ``import-wavcaps`` accepts and refuses: trainer checkpoints, hostile pickles, other files.

WavCaps' trainer saves a ``numpy.float64`` learning rate in the optimizer state, which needs
numpy's scalar reconstructor; exactly those numpy globals are allowed, nothing that runs code.
"""

from __future__ import annotations

import io
import os
import pickletools
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from captioner.wavcaps import WavCapsImportError, convert_state_dict, import_checkpoint
from captioner.wavcaps.convert import _numpy_number_globals
from wavcaps.synthetic import A, T

UNSAFE = ("weights_only", "trust_remote_code", "arbitrary code")


class RunsCode:
    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.sentinel}",))


def pickle_globals(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        data = zf.read(next(n for n in zf.namelist() if n.endswith("data.pkl")))
    return {
        str(arg).replace(" ", ".")
        for op, arg, _ in pickletools.genops(io.BytesIO(data))
        if op.name == "GLOBAL"
    }


def as_numpy1(path: Path, out: Path) -> Path:
    """The same checkpoint as numpy 1.x writes it (``numpy.core`` instead of ``numpy._core``)."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith("data.pkl"):
                data = data.replace(
                    b"numpy._core.multiarray\nscalar", b"numpy.core.multiarray\nscalar"
                )
            dst.writestr(item, data)
    return out


def test_a_checkpoint_saved_by_wavcaps_trainer_imports(
    scaled_checkpoint: Path, bert_tokenizer: Path, tmp_path: Path
) -> None:
    found = pickle_globals(scaled_checkpoint)
    # The file really holds the numpy learning rate a plain weights-only load refuses.
    assert any(name.endswith("multiarray.scalar") for name in found)
    with pytest.raises(Exception, match="scalar"):  # what a plain weights-only load does
        torch.load(scaled_checkpoint, map_location="cpu", weights_only=True)
    out = import_checkpoint(scaled_checkpoint, tmp_path / "ok", tokenizer_dir=bert_tokenizer)
    assert (out / "model.safetensors").is_file()
    old = as_numpy1(scaled_checkpoint, tmp_path / "numpy1.pt")
    assert "numpy.core.multiarray.scalar" in pickle_globals(old)
    assert import_checkpoint(old, tmp_path / "ok1", tokenizer_dir=bert_tokenizer).is_dir()


def test_only_number_building_numpy_globals_are_allowed() -> None:
    names = set()
    for entry in _numpy_number_globals():
        if isinstance(entry, tuple):
            names.add(entry[1])
        else:
            names.add(f"{entry.__module__}.{entry.__qualname__}")
    assert "numpy.core.multiarray.scalar" in names and "numpy.dtype" in names
    assert "numpy.dtypes.Float64DType" in names
    refused = ("ObjectDType", "VoidDType", "StrDType", "BytesDType", "_reconstruct", "ndarray")
    assert not any(name.endswith(r) for name in names for r in refused)


@pytest.mark.parametrize("where", ["optimizer", "config", "model"])
def test_a_code_executing_pickle_never_runs(
    scaled_state: dict[str, torch.Tensor], tmp_path: Path, where: str
) -> None:
    sentinel = tmp_path / "ran"
    path = tmp_path / "hostile.pt"
    saved: dict[str, object] = {"model": dict(scaled_state), "epoch": 1}
    if where == "model":
        saved["model"] = {**scaled_state, "x": RunsCode(sentinel)}
    else:
        saved[where] = {"lr": RunsCode(sentinel)}
    torch.save(saved, path)
    with pytest.raises(WavCapsImportError) as err:
        import_checkpoint(path, tmp_path / "out")
    message = str(err.value)
    assert "not a WavCaps checkpoint" in message and "posix.system" in message
    for phrase in UNSAFE:
        assert phrase not in message.lower()
    assert not sentinel.exists() and not (tmp_path / "out").exists()


def test_numpy_objects_beyond_numbers_are_refused(
    scaled_state: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    path = tmp_path / "objects.pt"
    torch.save({"model": scaled_state, "extra": np.array([{"a": 1}], dtype=object)}, path)
    with pytest.raises(WavCapsImportError, match=r"not a WavCaps checkpoint.*_reconstruct"):
        import_checkpoint(path, tmp_path / "out")


@pytest.mark.parametrize("kind", ["text", "empty", "zip", "random", "folder", "pickle"])
def test_a_file_that_is_no_checkpoint_is_called_so(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "thing.pt"
    if kind == "text":
        path.write_text("not a checkpoint at all\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "hello")
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "folder":
        path.mkdir()
    else:
        torch.save([1, 2, 3], path)
    with pytest.raises(WavCapsImportError, match="is not a WavCaps checkpoint") as err:
        import_checkpoint(path, tmp_path / "out")
    for phrase in UNSAFE:
        assert phrase not in str(err.value).lower()
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ truncated checkpoints
def test_a_scaled_checkpoint_missing_half_a_swin_pair_is_refused(
    scaled_state: dict[str, torch.Tensor],
) -> None:
    block = A + "layers.1.blocks.1."
    gone = sorted(k for k in scaled_state if k.startswith(block))
    state = {k: v for k, v in scaled_state.items() if not k.startswith(block)}
    with pytest.raises(WavCapsImportError, match="truncated WavCaps checkpoint") as err:
        convert_state_dict(state)
    assert all(name in str(err.value) for name in gone)
    assert f"{block}attn_mask" in gone  # a shifted block on a 32x32 grid has its mask


def test_a_scaled_checkpoint_missing_its_last_bert_layer_is_refused(
    scaled_state: dict[str, torch.Tensor],
) -> None:
    layer = T + "encoder.layer.1."
    state = {k: v for k, v in scaled_state.items() if not k.startswith(layer)}
    with pytest.raises(WavCapsImportError, match=r"16 tensor\(s\)") as err:
        convert_state_dict(state)
    assert f"{layer}attention.self.query.weight" in str(err.value)


def test_missing_names_keep_the_dataparallel_prefix(scaled_state: dict[str, torch.Tensor]) -> None:
    layer = T + "encoder.layer.1."
    state = {f"module.{k}": v for k, v in scaled_state.items() if not k.startswith(layer)}
    with pytest.raises(WavCapsImportError) as err:
        convert_state_dict(state)
    assert f"module.{layer}output.dense.weight" in str(err.value)


def test_a_saved_config_of_another_architecture_is_refused(
    scaled_state: dict[str, torch.Tensor],
) -> None:
    cnn = {"audio_encoder_args": {"type": "cnn", "model": "Cnn14"}}
    with pytest.raises(WavCapsImportError, match="audio encoder is 'Cnn14'"):
        convert_state_dict(scaled_state, saved_config=cnn)
    roberta = {"text_encoder_args": {"type": "roberta-base"}}
    with pytest.raises(WavCapsImportError, match="text encoder is roberta-base"):
        convert_state_dict(scaled_state, saved_config=roberta)
    # The scaled model is not the HTSAT WavCaps builds: its config would call it truncated.
    htsat = {"audio_encoder_args": {"type": "transformer", "model": "htsat"}}
    with pytest.raises(WavCapsImportError, match="its saved WavCaps config"):
        convert_state_dict(scaled_state, saved_config=htsat)
