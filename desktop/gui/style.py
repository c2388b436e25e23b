"""The app's look: a dark, low-glare theme with one warm accent, like studio sample browsers."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["ACCENT", "apply_style"]

ACCENT = "#f2a541"

_STYLESHEET = f"""
QMainWindow, QDialog {{ background: #0f1216; }}
QWidget {{ color: #d7dde4; font-size: 13px; }}
QSplitter::handle {{ background: #0f1216; }}
QTreeView, QTableView, QListWidget {{
    background: #161a20; alternate-background-color: #1a1f26; border: none;
    selection-background-color: #3a2d17; selection-color: #ffe2b3; outline: 0;
}}
QTableView::item, QTreeView::item {{ padding: 0 6px; border: none; }}
QTableView::item:selected, QTreeView::item:selected {{ background: #3a2d17; color: #ffe2b3; }}
QHeaderView::section {{
    background: #12161b; color: #8b949e; border: none; border-bottom: 1px solid #242a32;
    padding: 5px 6px; font-size: 11px; font-weight: 600; text-transform: uppercase;
}}
QLineEdit, QPlainTextEdit, QComboBox, QSpinBox, QDoubleSpinBox {{
    background: #1c2129; border: 1px solid #2b323c; border-radius: 6px; padding: 5px 8px;
    selection-background-color: {ACCENT}; selection-color: #111;
}}
QLineEdit:focus, QPlainTextEdit:focus, QComboBox:focus {{ border-color: {ACCENT}; }}
QLineEdit#searchEdit {{ font-size: 14px; padding: 7px 12px; border-radius: 8px; }}
QComboBox::drop-down {{ border: none; width: 18px; }}
QComboBox QAbstractItemView {{ background: #1c2129; selection-background-color: #3a2d17; }}
QPushButton {{
    background: #222831; border: 1px solid #2f3742; border-radius: 6px; padding: 5px 9px;
}}
QPushButton:hover {{ background: #2a313b; }}
QPushButton:disabled {{ color: #5c6570; background: #1a1e24; border-color: #232830; }}
QPushButton:checked {{ background: #3a2d17; border-color: {ACCENT}; color: #ffe2b3; }}
QPushButton#acceptButton, QPushButton#playButton {{
    background: {ACCENT}; color: #15110a; border: none; font-weight: 600;
}}
QPushButton#acceptButton:disabled {{ background: #3b3325; color: #7b6a4c; }}
#detailTitle {{ font-size: 17px; font-weight: 600; color: #f0f3f6; }}
#detailMeta, #provenance, #queueCounts, #countLabel {{ color: #8b949e; font-size: 12px; }}
QLabel#sectionLabel {{ color: #6e7681; font-size: 11px; font-weight: 700; letter-spacing: 1px; }}
#workerState {{ color: {ACCENT}; font-size: 12px; }}
#queueProblem, #fieldProblem {{ color: #ff9b93; font-size: 12px; }}
#waitingLabel {{ color: {ACCENT}; }}
#banner {{ background: #2a2214; color: #ffe2b3; border-radius: 6px; padding: 4px 10px; }}
QWidget#messageBar {{ background: #3a1d1b; border: 1px solid #6e2b26; border-radius: 6px; }}
#messageText {{ color: #ffd7d3; }}
QLabel#emptyTitle {{ font-size: 22px; font-weight: 600; color: #f0f3f6; }}
QLabel#emptyText {{ color: #aab3bd; font-size: 13px; }}
QLabel#emptyHint {{ color: #6e7681; font-size: 12px; }}
QWidget#emptyState {{ background: #161a20; border-radius: 8px; }}
QWidget#detailPanel, QWidget#queuePanel, QWidget#sidebarBox, QTreeView#sidebar {{
    background: #13171c;
}}
QTreeView#sidebar::item {{ padding: 3px 2px; }}
QWidget#centre {{ background: #0f1216; }}
QProgressBar {{ background: #1c2129; border: none; border-radius: 3px; }}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QStatusBar {{ background: #0b0e11; color: #8b949e; }}
QMenuBar {{ background: #0f1216; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: #3a2d17; }}
QMenu {{ background: #1c2129; border: 1px solid #2b323c; }}
QScrollBar:vertical {{ background: #13171c; width: 10px; margin: 0; }}
QScrollBar::handle:vertical {{ background: #2f3742; border-radius: 5px; min-height: 30px; }}
QScrollBar:horizontal {{ background: #13171c; height: 10px; margin: 0; }}
QScrollBar::handle:horizontal {{ background: #2f3742; border-radius: 5px; min-width: 30px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QRadioButton::indicator, QCheckBox::indicator {{
    width: 13px; height: 13px; border: 1px solid #56606c; background: #1c2129;
}}
QRadioButton::indicator {{ border-radius: 7px; }}
QCheckBox::indicator {{ border-radius: 3px; }}
QRadioButton::indicator:checked, QCheckBox::indicator:checked {{
    background: {ACCENT}; border-color: {ACCENT};
}}
QRadioButton::indicator:disabled, QCheckBox::indicator:disabled {{ border-color: #2b323c; }}
QGroupBox {{ border: 1px solid #242a32; border-radius: 8px; margin-top: 14px; padding: 8px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; color: #8b949e; }}
"""


def apply_style(app: QApplication) -> None:
    """Apply the Fusion style, a dark palette and the stylesheet to the whole app."""
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#0f1216"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#d7dde4"))
    palette.setColor(QPalette.ColorRole.Base, QColor("#161a20"))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#1a1f26"))
    palette.setColor(QPalette.ColorRole.Text, QColor("#d7dde4"))
    palette.setColor(QPalette.ColorRole.Button, QColor("#222831"))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor("#d7dde4"))
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#3a2d17"))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffe2b3"))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#6e7681"))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor("#1c2129"))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor("#d7dde4"))
    app.setPalette(palette)
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)
    app.setStyleSheet(_STYLESHEET)
