"""The settings dialog: models, device, preset and knobs, vocabularies, library roots."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.settings import KNOBS, AppSettings
from desktop.library import RootInfo

log = logging.getLogger(__name__)

__all__ = ["RootChanges", "SettingsDialog"]

_DEVICES = ("auto", "cpu", "cuda", "mps")
_KNOB_LABELS = {
    "k": "Candidates per step (k)",
    "alpha": "Repetition penalty (α)",
    "beta": "Audio match weight (β)",
    "tau": "Similarity scale (τ)",
    "gamma": "End-of-caption rule (γ)",
    "l": "Keywords in prompt (l)",
    "max_length": "Longest caption (tokens)",
}
_PRESETS = ("default", "paper")


def _preset_values(preset: str) -> dict[str, float]:
    # captioner.config is light (no torch); fall back to no defaults if it is unavailable.
    try:
        from captioner.config import CaptionerConfig

        values = CaptionerConfig.preset(preset).to_dict()
    except Exception as exc:  # an engine without this preset must not break the dialog
        log.info("preset %s unavailable: %s", preset, exc)
        return {}
    return {k: float(v) for k, v in values.items() if k in KNOBS}


@dataclass
class RootChanges:
    """Library roots the user added or removed in the dialog."""

    added: list[str] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)


class SettingsDialog(QDialog):
    """Edits a copy of :class:`AppSettings`; read :meth:`settings` after ``accept``."""

    def __init__(
        self, settings: AppSettings, roots: list[RootInfo], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Earmark settings")
        self.setMinimumWidth(820)
        self._original = settings.copy()
        self._roots = {r.id: r for r in roots}
        self.root_changes = RootChanges()

        self.clap = QLineEdit(settings.clap)
        self.llm = QLineEdit(settings.llm)
        for edit in (self.clap, self.llm):
            edit.setMinimumWidth(280)
        self.device = QComboBox()
        self.device.addItems(list(_DEVICES))
        self.device.setCurrentText(settings.device if settings.device in _DEVICES else "auto")
        self.preset = QComboBox()
        self.preset.addItems(list(_PRESETS))
        self.preset.setCurrentText(settings.preset if settings.preset in _PRESETS else "default")
        self.batch = QSpinBox()
        self.batch.setRange(1, 64)
        self.batch.setValue(settings.batch_size)

        models = QGroupBox("Models")
        form = QFormLayout(models)
        # Labels above the fields: long model references need the whole width.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        form.addRow("Audio model (CLAP)", _with_browse(self.clap, self, "Choose the CLAP folder"))
        form.addRow(
            "Language model", _with_browse(self.llm, self, "Choose the language model folder")
        )
        form.addRow("Device", self.device)

        knobs_box = QGroupBox("Captioning")
        knob_form = QFormLayout(knobs_box)
        knob_form.addRow("Preset", self.preset)
        self.knobs: dict[str, QSpinBox | QDoubleSpinBox] = {}
        defaults = _preset_values(settings.preset)
        for name, (low, high, step) in KNOBS.items():
            spin: QSpinBox | QDoubleSpinBox
            if float(step).is_integer() and float(low).is_integer():
                spin = QSpinBox()
                spin.setRange(int(low), int(high))
                spin.setSingleStep(int(step))
            else:
                spin = QDoubleSpinBox()
                spin.setRange(low, high)
                spin.setSingleStep(step)
                spin.setDecimals(2)
            value = settings.overrides.get(name, defaults.get(name, low))
            spin.setValue(value)  # type: ignore[arg-type]
            self.knobs[name] = spin
            knob_form.addRow(_KNOB_LABELS.get(name, name), spin)
        knob_form.addRow("Files per batch", self.batch)
        self.preset.currentTextChanged.connect(self._load_preset)

        self.vocabulary = QLineEdit(settings.vocabulary)
        self.vocabulary.setPlaceholderText("AudioSet's 614 labels (built in)")
        vocab_button = QPushButton("File…")
        vocab_button.clicked.connect(self._choose_vocabulary)
        vocab_row = QHBoxLayout()
        vocab_row.addWidget(self.vocabulary, 1)
        vocab_row.addWidget(vocab_button)
        vocab_box = QGroupBox("Keyword vocabulary (one keyword per line)")
        vocab_box.setLayout(vocab_row)

        roots_box = QGroupBox("Library folders")
        self.roots = QListWidget()
        for root in roots:
            item = QListWidgetItem(f"{root.path}   ({root.files:,} files)")
            item.setData(Qt.ItemDataRole.UserRole, root.id)
            self.roots.addItem(item)
        self.roots.setMaximumHeight(90)
        roots_box.setLayout(_list_with_buttons(self.roots, self._add_root, self._remove_root))

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(models)
        left.addWidget(vocab_box)
        left.addWidget(roots_box)
        top.addLayout(left, 3)
        top.addWidget(knobs_box, 2)
        layout.addLayout(top)
        layout.addWidget(buttons)

    def settings(self) -> AppSettings:
        """The edited settings; knobs equal to the preset's values are not stored."""
        defaults = _preset_values(self.preset.currentText())
        overrides: dict[str, float | int] = {}
        for name, spin in self.knobs.items():
            value = spin.value()
            if name not in defaults or abs(float(value) - defaults[name]) > 1e-9:
                overrides[name] = value
        return AppSettings(
            clap=self.clap.text().strip() or self._original.clap,
            llm=self.llm.text().strip() or self._original.llm,
            device=self.device.currentText(),
            preset=self.preset.currentText(),
            overrides=overrides,
            vocabulary=self.vocabulary.text().strip(),
            batch_size=self.batch.value(),
        )

    def _load_preset(self, preset: str) -> None:
        for name, value in _preset_values(preset).items():
            self.knobs[name].setValue(value)  # type: ignore[arg-type]

    def _choose_vocabulary(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a keyword list (one keyword per line)", "", "Text files (*.txt *.csv)"
        )
        if path:
            self.vocabulary.setText(path)

    def _add_root(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder to the library")
        if path:
            self.root_changes.added.append(path)
            self.roots.addItem(QListWidgetItem(f"{path}   (new)"))

    def _remove_root(self) -> None:
        for item in self.roots.selectedItems():
            root_id = item.data(Qt.ItemDataRole.UserRole)
            if root_id is not None:
                self.root_changes.removed.append(int(root_id))
            else:
                path = item.text().removesuffix("   (new)")
                if path in self.root_changes.added:
                    self.root_changes.added.remove(path)
            self.roots.takeItem(self.roots.row(item))


def _with_browse(edit: QLineEdit, parent: QWidget, title: str) -> QWidget:
    box = QWidget(parent)
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    button = QPushButton("Folder…")

    def browse() -> None:
        path = QFileDialog.getExistingDirectory(parent, title)
        if path:
            edit.setText(path)

    button.clicked.connect(browse)
    row.addWidget(button)
    return box


def _list_with_buttons(widget: QListWidget, add: object, remove: object) -> QVBoxLayout:
    layout = QVBoxLayout()
    layout.addWidget(widget)
    row = QHBoxLayout()
    add_button = QPushButton("Add…")
    remove_button = QPushButton("Remove")
    add_button.clicked.connect(add)
    remove_button.clicked.connect(remove)
    row.addStretch(1)
    row.addWidget(add_button)
    row.addWidget(remove_button)
    layout.addLayout(row)
    return layout
