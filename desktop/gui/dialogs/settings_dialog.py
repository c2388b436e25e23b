"""The settings dialog: models, device, preset and knobs, vocabularies, library roots.

A model folder is checked the moment it is chosen (a folder of sounds, or the other kind of
model, is refused with the reason shown under the field); removing a library folder asks
first and says how many files and descriptions it would forget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from captioner.config import PRESETS, CaptionerConfig, Knob, knobs
from captioner.loading import plan_load
from desktop.gui.asking import CANCEL, Choice, Question
from desktop.gui.dialogs import pickers
from desktop.gui.dialogs.confirm import MessageBoxAsker
from desktop.gui.formatting import impact_text
from desktop.gui.model_check import FolderCheck, ModelKind, check_model_folder, looks_like_folder
from desktop.gui.tasks import TaskContext, TaskResult, TaskRunner
from desktop.library import RemovalImpact, RootInfo
from desktop.settings import AppSettings

log = logging.getLogger(__name__)

__all__ = ["RootChanges", "SettingsDialog"]

_DEVICES = ("auto", "cpu", "cuda", "mps")
#: The precision choices; "" means the preset's.
_DTYPES = ("", "auto", "float32", "float16", "bfloat16")


def _numeric_knobs() -> list[Knob]:
    """The captioning settings offered as spin boxes: the engine's knob table (labels,
    help and ranges live once, on ``CaptionerConfig``'s fields), everyday ones only."""
    return [k for k in knobs() if k.kind in (int, float) and not k.advanced]


def _preset_values(preset: str) -> dict[str, float]:
    values = CaptionerConfig.preset(preset).to_dict()
    return {k.name: float(values[k.name]) for k in _numeric_knobs()}


@dataclass
class RootChanges:
    """Library roots the user added or removed in the dialog."""

    added: list[str] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)


class SettingsDialog(QDialog):
    """Edits a copy of :class:`AppSettings`; read :meth:`settings` after ``accept``.

    Args:
        settings: The current settings.
        roots: The library folders.
        runner: Runs the model-folder checks off the GUI thread.
        impacts: What removing each library folder would forget (for the question).
        parent: Qt parent.
    """

    def __init__(
        self,
        settings: AppSettings,
        roots: list[RootInfo],
        runner: TaskRunner,
        impacts: dict[int, RemovalImpact] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Earmark settings")
        self.setMinimumWidth(760)
        self._original = settings.copy()
        self._roots = {r.id: r for r in roots}
        self._impacts = dict(impacts or {})
        self._runner = runner
        self._asker = MessageBoxAsker(self)
        self._verdicts: dict[str, FolderCheck] = {}
        self.root_changes = RootChanges()
        self._alive = True
        self.finished.connect(self._on_closed)

        self.clap = QLineEdit(settings.clap)
        self.clap.setObjectName("clapEdit")
        self.llm = QLineEdit(settings.llm)
        self.llm.setObjectName("llmEdit")
        self.model_problems: dict[ModelKind, QLabel] = {}
        fields: tuple[tuple[ModelKind, QLineEdit], ...] = (("clap", self.clap), ("llm", self.llm))
        for kind, edit in fields:
            edit.setMinimumWidth(280)
            label = QLabel("")
            label.setObjectName("fieldProblem")
            label.setWordWrap(True)
            label.setVisible(False)
            self.model_problems[kind] = label
            edit.editingFinished.connect(partial(self._check_typed, kind))
        self.device = QComboBox()
        self.device.addItems(list(_DEVICES))
        self.device.setCurrentText(settings.device if settings.device in _DEVICES else "auto")
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.setCurrentText(settings.preset if settings.preset in PRESETS else "default")
        self.dtype = QComboBox()
        self.dtype.setObjectName("dtypeCombo")
        for value in _DTYPES:
            self.dtype.addItem(value or "as the preset says", value)
        self.dtype.setCurrentIndex(max(0, self.dtype.findData(settings.dtype)))
        self.batch = QSpinBox()
        self.batch.setRange(1, 64)
        self.batch.setValue(settings.batch_size)

        models = QGroupBox("Models")
        form = QFormLayout(models)
        # Labels above the fields: long model references need the whole width.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        form.addRow(
            "Audio model (CLAP)",
            self._with_browse("clap", self.clap, "Choose the audio model (CLAP) folder"),
        )
        form.addRow(self.model_problems["clap"])
        form.addRow(
            "Language model",
            self._with_browse("llm", self.llm, "Choose the language model folder"),
        )
        form.addRow(self.model_problems["llm"])
        form.addRow("Device", self.device)
        form.addRow("Precision", self.dtype)

        knobs_box = QGroupBox("Captioning")
        knob_form = QFormLayout(knobs_box)
        knob_form.addRow("Preset", self.preset)
        self.knobs: dict[str, QSpinBox | QDoubleSpinBox] = {}
        defaults = _preset_values(settings.preset)
        for spec in _numeric_knobs():
            spin: QSpinBox | QDoubleSpinBox
            low, high = spec.minimum or 0, spec.maximum or 0
            if spec.kind is int:
                spin = QSpinBox()
                spin.setRange(int(low), int(high))
                spin.setSingleStep(int(spec.step or 1))
            else:
                spin = QDoubleSpinBox()
                spin.setRange(float(low), float(high))
                spin.setSingleStep(float(spec.step or 0.1))
                spin.setDecimals(2)
            spin.setToolTip(spec.help)
            value = settings.overrides.get(spec.name, defaults.get(spec.name, low))
            spin.setValue(value)  # type: ignore[arg-type]
            self.knobs[spec.name] = spin
            knob_form.addRow(spec.label, spin)
        knob_form.addRow("Files per batch", self.batch)
        self.preset.currentTextChanged.connect(self._load_preset)
        self._show_default_models(self.preset.currentText())

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
        self.roots.setObjectName("rootList")
        for root in roots:
            item = QListWidgetItem(f"{root.path}   ({root.files:,} files)")
            item.setData(Qt.ItemDataRole.UserRole, root.id)
            self.roots.addItem(item)
        self.roots.setMaximumHeight(90)
        roots_box.setLayout(_list_with_buttons(self.roots, self._add_root, self._remove_root))

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._try_accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)

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

    def _on_closed(self, _result: int) -> None:
        self._alive = False

    def settings(self) -> AppSettings:
        """The edited settings; knobs equal to the preset's values are not stored."""
        defaults = _preset_values(self.preset.currentText())
        overrides: dict[str, float | int] = {}
        for name, spin in self.knobs.items():
            value = spin.value()
            if name not in defaults or abs(float(value) - defaults[name]) > 1e-9:
                overrides[name] = value
        return AppSettings(
            clap=self.clap.text().strip(),
            llm=self.llm.text().strip(),
            device=self.device.currentText(),
            preset=self.preset.currentText(),
            dtype=str(self.dtype.currentData() or ""),
            overrides=overrides,
            vocabulary=self.vocabulary.text().strip(),
            batch_size=self.batch.value(),
        )

    def _load_preset(self, preset: str) -> None:
        for name, value in _preset_values(preset).items():
            self.knobs[name].setValue(value)  # type: ignore[arg-type]
        self._show_default_models(preset)

    def _show_default_models(self, preset: str) -> None:
        """An empty model field means the preset's model: say which, in the field."""
        try:
            clap, llm = plan_load(preset).model_refs
        except ValueError:
            return
        self.clap.setPlaceholderText(f"the preset's: {clap}")
        self.llm.setPlaceholderText(f"the preset's: {llm}")

    def _choose_vocabulary(self) -> None:
        path = pickers.choose_open_file(
            self, "Choose a keyword list (one keyword per line)", "Text files (*.txt *.csv)"
        )
        if path:
            self.vocabulary.setText(path)

    # -- model folders -----------------------------------------------------------------------

    def _with_browse(self, kind: ModelKind, edit: QLineEdit, title: str) -> QWidget:
        box = QWidget(self)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        button = QPushButton("Folder…")
        button.setObjectName(f"{kind}Browse")
        button.clicked.connect(partial(self._browse, kind, edit, title))
        row.addWidget(button)
        return box

    def _browse(self, kind: ModelKind, edit: QLineEdit, title: str) -> None:
        path = pickers.choose_directory(self, title)
        if path:
            self._check(kind, path, edit)

    def _check_typed(self, kind: ModelKind) -> None:
        edit = self.clap if kind == "clap" else self.llm
        text = edit.text().strip()
        if looks_like_folder(text):
            self._check(kind, text, None)
        else:
            self._show_verdict(kind, FolderCheck(True, ""))

    def _check(self, kind: ModelKind, path: str, edit: QLineEdit | None) -> None:
        """Check a folder off the GUI thread; a good one goes into ``edit``."""
        label = self.model_problems[kind]
        label.setText("Checking the folder…")
        label.setVisible(True)

        def work(_ctx: TaskContext[None]) -> FolderCheck:
            return check_model_folder(path, kind)

        def done(result: TaskResult[FolderCheck]) -> None:
            if not self._alive:
                return  # closed meanwhile: its widgets may be gone
            verdict = (
                result.value if result.value is not None else FolderCheck(False, str(result.error))
            )
            self._verdicts[kind] = verdict
            if verdict.ok and edit is not None:
                edit.setText(path)
            self._show_verdict(kind, verdict, path)

        self._runner.run(work, done)

    def _show_verdict(self, kind: ModelKind, verdict: FolderCheck, path: str = "") -> None:
        label = self.model_problems[kind]
        if verdict.ok:
            label.setVisible(False)
            label.setText("")
        else:
            label.setText(f"Not used: {verdict.reason}")
            label.setVisible(True)
        self._verdicts[kind] = verdict

    def model_problem(self, kind: ModelKind) -> str:
        """The reason shown under a model field, or ``""``."""
        label = self.model_problems[kind]
        return label.text() if not label.isHidden() else ""

    def _try_accept(self) -> None:
        typed = {"clap": self.clap.text().strip(), "llm": self.llm.text().strip()}
        if any(not v.ok and looks_like_folder(typed[k]) for k, v in self._verdicts.items()):
            return  # a typed folder was refused: the reason is on screen under its field
        self.accept()

    # -- library folders ---------------------------------------------------------------------

    def _add_root(self) -> None:
        path = pickers.choose_directory(self, "Add a folder to the library")
        if path:
            self.root_changes.added.append(path)
            self.roots.addItem(QListWidgetItem(f"{path}   (new)"))

    def _remove_root(self) -> None:
        items = self.roots.selectedItems()
        if not items:
            return
        item = items[0]
        root_id = item.data(Qt.ItemDataRole.UserRole)
        if root_id is None:  # added in this dialog: nothing to forget yet
            path = item.text().removesuffix("   (new)")
            if path in self.root_changes.added:
                self.root_changes.added.remove(path)
            self.roots.takeItem(self.roots.row(item))
            return
        root = self._roots[int(root_id)]
        impact = self._impacts.get(root.id, RemovalImpact(root.files, root.captioned, 0))
        question = Question(
            title="Remove library folder",
            text=f"Remove {root.path} from the library?",
            details=(
                f"Earmark forgets {impact_text(impact)} in it. The sound files on disk are not "
                "touched; adding the folder again lists them again, without these "
                "descriptions. The removal happens when you press OK."
            ),
            choices=(
                Choice("remove", "Remove folder", "destructive"),
                Choice(CANCEL, "Keep it", "reject"),
            ),
        )

        def answered(key: str) -> None:
            if key == "remove" and self.roots.row(item) >= 0:
                self.root_changes.removed.append(root.id)
                self.roots.takeItem(self.roots.row(item))

        self._asker.ask(question, answered)


def _list_with_buttons(widget: QListWidget, add: object, remove: object) -> QVBoxLayout:
    layout = QVBoxLayout()
    layout.addWidget(widget)
    row = QHBoxLayout()
    add_button = QPushButton("Add…")
    remove_button = QPushButton("Remove…")
    remove_button.setObjectName("removeRoot")
    add_button.clicked.connect(add)
    remove_button.clicked.connect(remove)
    row.addStretch(1)
    row.addWidget(add_button)
    row.addWidget(remove_button)
    layout.addLayout(row)
    return layout
