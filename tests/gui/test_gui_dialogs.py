"""Dialogs: models (present, absent offline, download progress), settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThreadPool

from desktop.gui.dialogs.models_dialog import OFFLINE_MESSAGE, ModelsDialog
from desktop.gui.dialogs.settings_dialog import SettingsDialog
from desktop.gui.tasks import TaskRunner
from desktop.settings import AppSettings

WAIT_MS = 10_000


def _model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "clap-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    return folder


def test_models_dialog_offline_says_so_and_download_reports_progress(qtbot, tmp_path) -> None:
    calls: list[str] = []

    def fake_download(ref, *, progress, cancel):
        calls.append(ref)
        assert cancel() is False
        progress(0, 4096)
        progress(4096, 4096)
        return tmp_path

    settings = AppSettings(clap=str(_model_folder(tmp_path)), llm="nobody/not-a-real-model")
    runner = TaskRunner(QThreadPool())
    dialog = ModelsDialog(settings, runner, download=fake_download)
    qtbot.addWidget(dialog)
    # HF_HUB_OFFLINE=1 in tests: the size look-up fails like it does without a network.
    qtbot.waitUntil(lambda: dialog.message.text() == OFFLINE_MESSAGE, timeout=WAIT_MS)
    assert dialog.rows["clap"][1].text().startswith("✓ on this computer")
    assert "offline" in dialog.rows["llm"][1].text()
    assert dialog.download_button.isEnabled() and not dialog.ready
    progress: list[tuple[str, int, int]] = []
    shown = dialog._on_progress
    dialog._on_progress = lambda value: (progress.append(value), shown(value))
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.message.text() == "Download complete.", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=WAIT_MS)
    assert calls == ["nobody/not-a-real-model"]  # only the missing model is fetched
    assert progress[-1] == ("nobody/not-a-real-model", 4096, 4096)
    assert dialog.message.text() == "Download complete."
    assert not dialog.cancel_download.isVisible()


def test_models_dialog_ready_when_both_present(qtbot, tmp_path) -> None:
    folder = _model_folder(tmp_path)
    runner = TaskRunner(QThreadPool())
    dialog = ModelsDialog(AppSettings(clap=str(folder), llm=str(folder)), runner)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.ready, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=WAIT_MS)
    assert dialog.message.text() == "Both models are ready."
    assert not dialog.download_button.isEnabled()


def test_settings_dialog_keeps_only_changed_knobs(qtbot) -> None:
    dialog = SettingsDialog(AppSettings(overrides={"beta": 0.8}), [], TaskRunner(QThreadPool()))
    qtbot.addWidget(dialog)
    assert dialog.knobs["beta"].value() == 0.8
    dialog.knobs["l"].setValue(3)
    dialog.device.setCurrentText("cpu")
    chosen = dialog.settings()
    assert chosen.overrides == {"beta": 0.8, "l": 3}
    assert chosen.device == "cpu"
    dialog.preset.setCurrentText("paper")  # loads the preset's values into the knobs
    assert dialog.settings().overrides == {}
    assert dialog.settings().preset == "paper"


def test_models_dialog_cancel_stops_the_download(qtbot, tmp_path) -> None:
    import threading

    from captioner.errors import CaptionerError

    started = threading.Event()

    def slow_download(ref, *, progress, cancel):
        progress(0, 10_000_000)
        started.set()
        for _ in range(1000):  # checks the flag between "files", like the real download
            if cancel():
                raise CaptionerError(f"download of {ref} cancelled; run it again to resume")
            threading.Event().wait(0.01)
        raise AssertionError("cancel was never seen")

    runner = TaskRunner(QThreadPool())
    dialog = ModelsDialog(
        AppSettings(clap="nobody/a", llm="nobody/b"), runner, download=slow_download
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.download_button.isEnabled, timeout=WAIT_MS)
    assert not dialog.cancel_download.isVisibleTo(dialog)
    dialog.download_button.click()
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    assert dialog.cancel_download.isVisibleTo(dialog)
    dialog.cancel_download.click()
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=WAIT_MS)
    assert dialog.message.text().startswith("Download cancelled")
    assert dialog.download_button.isEnabled()


def test_settings_dialog_offers_the_engines_knobs_presets_and_precision(qtbot) -> None:
    from captioner.config import PRESETS, knob

    dialog = SettingsDialog(AppSettings(), [], TaskRunner(QThreadPool()))
    qtbot.addWidget(dialog)
    presets = [dialog.preset.itemText(i) for i in range(dialog.preset.count())]
    assert presets == list(PRESETS) and "paper-released" in presets
    beta = knob("beta")
    assert dialog.knobs["beta"].maximum() == beta.maximum
    assert dialog.knobs["beta"].toolTip() == beta.help
    assert "seed" not in dialog.knobs and "max_windows" not in dialog.knobs  # advanced ones
    # An empty model field means the preset's model, and the field says which.
    assert "opt-1.3b" in dialog.llm.placeholderText()
    dialog.preset.setCurrentText("paper")
    dialog.dtype.setCurrentIndex(dialog.dtype.findData("float16"))
    chosen = dialog.settings()
    assert (chosen.preset, chosen.dtype, chosen.clap, chosen.llm) == ("paper", "float16", "", "")
    assert chosen.plan().config.dtype == "float16"
