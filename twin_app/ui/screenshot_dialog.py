"""Save screenshot…: the 3D view as a PNG of a chosen size (up to 7680 x 4320), with a title,
the legends and the data attribution drawn for that size; while the compare view is on screen,
what it shows (baseline and scenario side by side, or swiped).

The picture is rendered offscreen through the core's snapshot verb
(:func:`twin_app.render.snapshot.snapshot`) from the session's camera, so the window keeps
its size; rendering is on the GUI thread (OpenGL contexts belong to it), about a second at
1920 x 1080 and ten at 7680 x 4320 on software GL, under a busy cursor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

#: (label, size) choices; None: the 3D view's own size.
SIZES: tuple[tuple[str, tuple[int, int] | None], ...] = (
    ("As the view", None),
    ("1920 × 1080 (Full HD)", (1920, 1080)),
    ("3840 × 2160 (4K)", (3840, 2160)),
    ("7680 × 4320 (8K)", (7680, 4320)),
)


class ScreenshotDialog(QDialog):
    """Size, title, attribution on or off, and the file to write.

    Parameters
    ----------
    view_size
        The 3D view's size in pixels (the "As the view" choice).
    title
        The title proposed (the twin's name).
    path
        The file proposed.
    """

    def __init__(
        self,
        view_size: tuple[int, int],
        title: str = "",
        path: str = "twin.png",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save screenshot")
        self.view_size = (max(16, int(view_size[0])), max(16, int(view_size[1])))
        form = QFormLayout(self)
        self.size_box = QComboBox()
        for label, size in SIZES:
            shown = size or self.view_size
            text = label if size else f"{label} ({shown[0]} × {shown[1]})"
            self.size_box.addItem(text, shown)
        self.size_box.setCurrentIndex(1)
        form.addRow("&Size", self.size_box)
        self.title_edit = QLineEdit(title)
        self.title_edit.setPlaceholderText("No title")
        form.addRow("&Title", self.title_edit)
        self.attribution_box = QCheckBox("Draw the data attribution (bottom right)")
        self.attribution_box.setChecked(True)
        form.addRow("", self.attribution_box)
        row = QHBoxLayout()
        self.path_edit = QLineEdit(path)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form.addRow("&File", row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save screenshot", self.path_edit.text(), "PNG images (*.png)"
        )
        if path:
            self.path_edit.setText(path)

    @property
    def size_px(self) -> tuple[int, int]:
        """The chosen (width, height)."""
        w, h = self.size_box.currentData()
        return int(w), int(h)

    @property
    def path(self) -> Path:
        """The chosen file (``.png`` added when it has no suffix)."""
        p = Path(self.path_edit.text().strip() or "twin.png")
        return p if p.suffix else p.with_suffix(".png")


def shown_compare(compare: Any) -> Any:
    """`compare` (a :class:`~twin_app.ui.compare_view.QtCompareView` or None) when it is on
    screen showing a comparison, else None."""
    if compare is None or not compare.isVisible() or compare.comparison is None:
        return None
    return compare if compare.views else None


def compare_view_size(compare: Any) -> tuple[int, int]:
    """The compare view's picture in pixels: both views side by side, or the swipe's one."""
    sizes = [tuple(v.scene.plotter.window_size) for v in compare.views]
    return sum(int(s[0]) for s in sizes), max(int(s[1]) for s in sizes)


def write_screenshot(
    dialog: ScreenshotDialog, session: Any, scene: Any, compare: Any = None
) -> Path:
    """Render and write what `dialog` asks for, with the look of the 3D view's `scene` (its
    dark theme and shadows); returns the file written. With `compare` (a compare view on
    screen, :func:`shown_compare`) the picture is what it shows: both sides next to each other
    (each at its share of the width) or the swipe, through
    :func:`~twin_app.render.compare_snapshot.compare_snapshot`."""
    from twin_app.render.snapshot import snapshot

    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    kw: dict[str, Any] = {
        "title": dialog.title_edit.text().strip(),
        "attribution": None if dialog.attribution_box.isChecked() else "",
        "path": dialog.path,
        "dark": bool(scene.dark),
        "shadows": bool(scene.shadows),
    }
    try:
        if compare is None:
            snapshot(session, dialog.size_px, **kw)
        else:
            from twin_app.render.compare_snapshot import compare_snapshot

            widths = [v.width() for v in compare.views]
            compare_snapshot(
                compare.comparison,
                dialog.size_px,
                mode="swipe" if compare.mode == "swipe" else "side",
                share=widths[0] / max(sum(widths), 1),
                split=float(compare.split),
                **kw,
            )
    finally:
        QApplication.restoreOverrideCursor()
    return dialog.path


def save_screenshot(
    parent: Any, session: Any, scene: Any, title: str = "", compare: Any = None
) -> Path | None:
    """Ask (:class:`ScreenshotDialog`) and write; None when cancelled. With a compare view
    (:class:`~twin_app.ui.compare_view.QtCompareView`) on screen, the picture is its
    comparison as it shows it (its size the "As the view" choice)."""
    compare = shown_compare(compare)
    w, h = compare_view_size(compare) if compare is not None else scene.plotter.window_size
    dialog = ScreenshotDialog((int(w), int(h)), title=title, parent=parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return write_screenshot(dialog, session, scene, compare)
