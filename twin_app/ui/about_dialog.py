"""About: version, the libraries inside, and the attributions of the data that is open."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from twin_app import __version__
from twin_app.render.plotter import gl_info

CONTROLS = [
    ("Left drag", "orbit about the point under the cursor"),
    ("Right / middle drag, Shift + left drag", "pan"),
    ("Wheel", "zoom towards the cursor"),
    ("Click / Shift + click", "select a feature / add to the selection"),
    ("Ctrl + left drag", "rubber-band selection into the table"),
    ("Double click", "fly to the point"),
    ("1 / 2 / 3", "top, oblique, street view; W A S D / arrows walk, Q E turn (street view)"),
    ("Ctrl+F", "search ids and attributes, e.g. height_m>50"),
    ("Ctrl+B", "bookmark the view"),
    ("Z", "zoom to the layer selected in the Layers panel (also its right-click menu)"),
    ("U", "cycle the underground view (off, translucent, cut-away)"),
    ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo"),
]

#: The libraries the application imports (only those: About describes what exists).
BUILT_WITH = (
    "VTK", "PyVista", "pyvistaqt", "PySide6 (Qt)", "psygnal", "pydantic", "geopandas",
    "pyogrio (GDAL)", "shapely", "pyproj (PROJ)", "mapbox_earcut", "numpy", "scipy", "pandas",
    "pyarrow", "wntr (EPANET)", "paho-mqtt",
)  # fmt: skip


class QtAboutDialog(QDialog):
    """Version, OpenGL in use, controls, data attributions."""

    def __init__(self, rows: list[tuple[str, str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About twin_app")
        self.resize(640, 560)
        credit = (
            "".join(
                f"<li><b>{html.escape(f)}</b> — {html.escape(a)} ({html.escape(lic)})</li>"
                for f, a, lic in rows
            )
            or "<li>No open data file carries a manifest.</li>"
        )
        keys = "".join(
            f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
            for k, v in CONTROLS
        )
        info = gl_info()
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setHtml(
            f"<h2>twin_app {__version__}</h2>"
            "<p>A desktop digital twin of a city: real geometry, replayed and live sensor "
            "series on one clock, a water network simulated with EPANET.</p>"
            f"<h3>Data attributions</h3><ul>{credit}</ul>"
            f"<h3>Controls</h3><table cellspacing='4'>{keys}</table>"
            f"<h3>Built with</h3><p>{html.escape(', '.join(BUILT_WITH))}.</p>"
            f"<p>OpenGL: {html.escape(info.renderer or 'unknown')}"
            f"{' (software: anti-aliasing off while navigating)' if info.software else ''}</p>"
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
