"""The studio's dark theme: a Fusion palette, a small style sheet, and the colours plots and lanes share.

Colours are chosen for contrast on a dark background (text ≥ 7:1, accents ≥ 4.5:1).
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#1e2126"
PANEL = "#262a31"
BASE = "#16181c"
TEXT = "#e6e9ef"
MUTED_TEXT = "#9aa3b2"
ACCENT = "#4fb3ff"
PLAYHEAD = "#ffd23f"
LOOP_FILL = (79, 179, 255, 40)
LOOP_SHADE = (120, 200, 255, 45)
SELECTED_TAKE = "#2f4f6f"
WAVEFORM = "#7fd1b9"
MUTE_ON = "#e0a030"
SOLO_ON = "#52c26b"
ERROR = "#ff6b6b"

TRACK_COLOURS = {
    "bass": "#f28f3b",
    "drums": "#e05d5d",
    "piano": "#6fa8ff",
    "other": "#b58cf2",
    "reference": "#7fd1b9",
}

STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QToolTip {{ color: {TEXT}; background: {PANEL}; border: 1px solid #3a404a; }}
QFrame#TrackHeader, QFrame#ReferenceHeader {{ background: {PANEL}; border-right: 1px solid #3a404a; }}
QLabel#TrackName {{ font-weight: bold; font-size: 11pt; }}
QLabel#Summary, QLabel#Dim {{ color: {MUTED_TEXT}; }}
QLabel#Clock {{ font-family: monospace; font-size: 14pt; color: {ACCENT}; padding: 0 6px; }}
QToolButton#MuteButton:checked {{ background: {MUTE_ON}; color: black; }}
QToolButton#SoloButton:checked {{ background: {SOLO_ON}; color: black; }}
QToolButton#ABButton:checked {{ background: {ACCENT}; color: black; }}
QToolButton {{ padding: 2px 6px; }}
QPushButton#ListenReference:checked {{ background: {ACCENT}; color: black; }}
QLabel#ErrorText {{ color: {ERROR}; }}
"""


def apply_dark_theme(app: QApplication) -> None:
    """Switch `app` to the Fusion style with the studio's dark palette and style sheet."""
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: BACKGROUND,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: PANEL,
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#000000",
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.PlaceholderText: MUTED_TEXT,
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(disabled, role, QColor("#6b7280"))
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)
