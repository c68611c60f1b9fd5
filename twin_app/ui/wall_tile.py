"""One KPI tile of the wall: title, big value with unit, a detail line and a STALE badge."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from twin_app.session.wall import WallKpi

#: Value colour by the KPI's judgement (better, worse, neutral).
GOOD_COLOURS = {True: "#3fbf5f", False: "#ff5c4d", None: "#f2f2f2"}
STALE_COLOUR = "#8a8a8a"


def set_type(widget: QWidget, px: int, bold: bool, extra: str = "") -> None:
    """Size a widget's type to `px` pixels, in code and in its own style sheet.

    An application style sheet (the main window's theme: ``QWidget { font-size: 10pt }``)
    wins over a font set in code; the widget's own sheet wins over the application's.
    """
    f = QFont(widget.font())
    f.setPixelSize(px)
    f.setBold(bold)
    widget.setFont(f)
    weight = "bold" if bold else "normal"
    widget.setStyleSheet(f"font-size: {px}px; font-weight: {weight};{extra}")


class QtKpiTile(QFrame):
    """A tile that shows one :class:`~twin_app.session.wall.WallKpi`.

    Its labels are made once; :meth:`show_kpi` only sets their text (a tick makes no widget).
    Font sizes follow :meth:`set_unit_px` (the wall's type unit, from the screen height).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wallTile")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.value = QLabel("—")
        self.detail = QLabel()
        self.badge = QLabel("STALE")
        self.badge.setObjectName("wallStale")
        self.badge.hide()
        for lab in (self.title, self.value, self.detail, self.badge):
            lab.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.title.setWordWrap(False)
        self._layout = layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)
        layout.addWidget(self.badge)
        layout.addStretch(1)
        self.kpi: WallKpi | None = None
        self.stale = False
        self._text = ("", "", "", "")
        self._value_font = ""

    def set_unit_px(self, unit_px: int) -> None:
        """Scale the type: title 0.7, value 1.9, detail 0.6 type units (pixels)."""
        for lab, k, bold in (
            (self.title, 0.7, False),
            (self.value, 1.9, True),
            (self.detail, 0.6, False),
            (self.badge, 0.7, True),
        ):
            if lab is not self.value:
                set_type(lab, max(8, round(k * unit_px)), bold)
        # the value's sheet also carries its colour (see show_kpi)
        self._value_font = f"font-size: {max(8, round(1.9 * unit_px))}px; font-weight: bold;"
        f = QFont(self.value.font())
        f.setPixelSize(max(8, round(1.9 * unit_px)))
        f.setBold(True)
        self.value.setFont(f)
        self.value.setStyleSheet(self._value_sheet(self._text[3]))
        m = max(2, unit_px // 3)
        lay = self._layout
        lay.setContentsMargins(m, m // 2, m, m // 2)
        lay.setSpacing(max(1, unit_px // 8))

    def _value_sheet(self, colour: str) -> str:
        return self._value_font + (f" color: {colour};" if colour else "")

    def show_kpi(self, kpi: WallKpi | None, stale: bool = False) -> None:
        """Show a KPI (None: an empty tile); `stale` greys the value and shows the badge."""
        self.kpi = kpi
        if kpi is None:
            text = ("", "", "", "")
        else:
            unit = f" {kpi.unit}" if kpi.unit and kpi.unit != "1" else ""  # 1: a ratio
            colour = STALE_COLOUR if stale else GOOD_COLOURS[kpi.good]
            text = (kpi.name, f"{kpi.text()}{unit}", kpi.detail, colour)
        old = self._text
        if text != old:  # setting the same text repaints all the same: skip it
            self.title.setText(text[0])
            self.value.setText(text[1])
            self.detail.setText(text[2])
            if text[3] != old[3]:  # a style sheet re-polishes the label: only on a new colour
                self.value.setStyleSheet(self._value_sheet(text[3]))
            self._text = text
        if stale != self.stale:
            self.stale = stale
            self.badge.setVisible(stale)
