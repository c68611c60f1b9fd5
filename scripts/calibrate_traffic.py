"""Re-derive a twin's traffic demand scale against the traffic speeds it replays.

Usage::

    python scripts/calibrate_traffic.py [TWIN_DIR] [--write]

Prints the observed morning-peak speed ratio (METR-LA for the sample twin), the demand scale at
which the assigned network matches it, and the model's ratio there; ``--write`` stores the scale
as ``[traffic] demand_scale`` in the twin's ``manifest.toml`` (see
:mod:`twin_app.scenarios.twin_traffic` for the method).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from twin_app.scenarios.twin_traffic import calibrate_demand_scale

SAMPLE = Path(__file__).resolve().parents[1] / "twin_app" / "city_models" / "city_of_london"


def write_scale(manifest: Path, scale: float) -> None:
    """Set ``[traffic] demand_scale`` in a manifest, adding the table at the end if missing."""
    text = manifest.read_text(encoding="utf-8")
    line = f"demand_scale = {scale:.4f}"
    table = re.search(r"^\[traffic\][^\n]*\n", text, flags=re.MULTILINE)
    if table is None:
        text = text.rstrip("\n") + "\n\n[traffic]\n" + line + "\n"
    else:
        body = text[table.end() :]
        nxt = re.search(r"^\[", body, flags=re.MULTILINE)
        section = body[: nxt.start()] if nxt else body
        if re.search(r"^demand_scale\s*=.*$", section, flags=re.MULTILINE):
            section = re.sub(r"^demand_scale\s*=.*$", line, section, flags=re.MULTILINE)
        else:
            section = line + "\n" + section
        text = text[: table.end()] + section + (body[nxt.start() :] if nxt else "")
    tmp = manifest.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(manifest)


def main(argv: list[str] | None = None) -> int:
    """Run the calibration and print (and optionally store) the demand scale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("twin", nargs="?", type=Path, default=SAMPLE)
    parser.add_argument("--write", action="store_true", help="store it in manifest.toml")
    args = parser.parse_args(argv)
    t = time.perf_counter()
    cal = calibrate_demand_scale(args.twin)
    o = cal.observed
    print(
        f"observed morning-peak speed ratio {o.ratio:.4f} ({o.detectors} detectors, "
        f"{o.window_start:%Y-%m-%d %H:%M}..{o.window_end:%H:%M} UTC of the series)"
    )
    print(
        f"demand_scale = {cal.demand_scale:.4f}: model ratio {cal.model_ratio:.4f} "
        f"({cal.evaluations} assignments, {time.perf_counter() - t:.1f} s)"
    )
    if args.write:
        write_scale(args.twin / "manifest.toml", cal.demand_scale)
        print(f"written to {args.twin / 'manifest.toml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
