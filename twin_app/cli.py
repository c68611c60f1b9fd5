"""The ``twin`` command: open, info, render, feed publish/record, scenario run/sweep, video.

Errors a user can fix print as one line (``twin: error: ...``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twin_app.atomic import check_writable
from twin_app.errors import TwinError

log = logging.getLogger("twin_app")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must look like 1920x1080, not {text!r}") from exc
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"size {text!r} out of range 16..16384")
    return w, h


def _add_read_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--layer", help="read only this layer of a multi-layer file")
    p.add_argument(
        "--as",
        dest="as_kind",
        choices=["buildings", "roads", "areas"],
        help="read the layer(s) as this kind",
    )
    p.add_argument("--lod", help="CityJSON level of detail (default: the highest per object)")
    p.add_argument("--crs", help="CRS for files that declare none, e.g. EPSG:28992")
    p.add_argument(
        "--default-height",
        type=float,
        default=10.0,
        metavar="M",
        help="height of buildings with no height data (default 10)",
    )
    p.add_argument(
        "--storey",
        type=float,
        default=3.0,
        metavar="M",
        help="metres per storey for levels (default 3)",
    )
    if not any("--at" in a.option_strings for a in p._actions):
        p.add_argument(
            "--at",
            metavar="LON,LAT",
            help="place an IFC file's origin here (WGS 84 degrees), overriding its georeference",
        )
    p.add_argument(
        "--rotate",
        type=float,
        default=0.0,
        metavar="DEG",
        help="with --at: counter-clockwise angle from east to the IFC x axis (default 0)",
    )


_LONLAT = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?)\s*,\s*([-+]?\d+(?:\.\d*)?)\s*$")


def _lonlat(text: str | None) -> tuple[float, float] | None:
    """``--at LON,LAT`` in degrees as (lon, lat); None for no ``--at`` or a time (``render``
    takes ``--at TIME`` too: a time never is two comma-separated numbers)."""
    m = _LONLAT.match(text or "")
    if m is None:
        return None
    lon, lat = float(m.group(1)), float(m.group(2))
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise TwinError(f"--at {text}: not a longitude,latitude in degrees")
    return (lon, lat)


def _read_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from twin_app.io.source import ReadOptions

    return ReadOptions(
        layer=args.layer,
        as_kind=args.as_kind,
        lod=args.lod,
        crs=args.crs,
        default_height_m=args.default_height,
        storey_m=args.storey,
        at_lonlat=_lonlat(getattr(args, "at", None)),
        rotate_deg=args.rotate,
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``twin``."""
    parser = argparse.ArgumentParser(prog="twin", description="Desktop digital twin of a city.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command")

    p_open = sub.add_parser("open", help="open the desktop app (default: the bundled sample twin)")
    p_open.add_argument("paths", nargs="*", type=Path, help="city files or a .twin.toml session")
    p_open.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="once the files are loaded, save the 3D view as a PNG and quit (checks, docs)",
    )
    _add_read_options(p_open)

    p_info = sub.add_parser(
        "info",
        help="what a file, twin folder or session holds: kind, counts, CRS, bbox, triangles, "
        "heights; a twin's series with their kinds, counts and time ranges",
    )
    p_info.add_argument(
        "paths", nargs="+", type=Path, help="city files, twin folders or .twin.toml sessions"
    )
    p_info.add_argument(
        "--json", action="store_true", help="one JSON object per file (a list for several)"
    )
    _add_read_options(p_info)

    p_render = sub.add_parser(
        "render",
        help="draw files, a twin folder (with its sensor layers) or a session offscreen into a PNG",
    )
    p_render.add_argument(
        "paths", nargs="+", type=Path, help="city files, twin folders or a .twin.toml session"
    )
    p_render.add_argument(
        "--at",
        default=None,
        metavar="TIME|LON,LAT",
        help="clock time to show the sensor layers at, ISO 8601 (the twin's local time unless "
        "it carries an offset), e.g. 2026-03-02T08:00; or LON,LAT: where to place an IFC file",
    )
    p_render.add_argument("-o", "--output", type=Path, required=True, help="output PNG")
    p_render.add_argument(
        "--size", type=_size, default=(1920, 1080), help="WxH pixels (default 1920x1080)"
    )
    p_render.add_argument("--view", choices=["oblique", "top", "street"], default="oblique")
    p_render.add_argument(
        "--azimuth",
        type=float,
        default=0.0,
        help="view from this compass bearing, degrees (0 = from the south looking north)",
    )
    p_render.add_argument(
        "--color-by",
        default=None,
        help="buildings colour: height_m (default), surface, type, solid or a column; IFC models: "
        "ifc_class (default), material or solid",
    )
    p_render.add_argument(
        "--aa",
        choices=["auto", "off", "msaa", "ssaa"],
        default="ssaa",
        help="anti-aliasing (default ssaa: best for still images; pictures over 4K are "
        "rendered without it)",
    )
    p_render.add_argument("--title", default="", help="draw this title at the top centre")
    p_render.add_argument(
        "--attribution",
        action="store_true",
        help="draw the data attribution (from the twins' manifests) at the bottom right",
    )
    _add_read_options(p_render)
    p_feed = sub.add_parser(
        "feed",
        help="live feeds: publish recorded data to an MQTT broker, record a broker to Parquet",
    )
    feed_sub = p_feed.add_subparsers(dest="feed_command", required=True)
    from twin_app.feeds.publish import (
        PUBLISH_DESCRIPTION,
        PUBLISH_HELP,
        RECORD_DESCRIPTION,
        RECORD_HELP,
        add_publish_arguments,
        add_record_arguments,
    )

    add_publish_arguments(
        feed_sub.add_parser("publish", help=PUBLISH_HELP, description=PUBLISH_DESCRIPTION)
    )
    add_record_arguments(
        feed_sub.add_parser("record", help=RECORD_HELP, description=RECORD_DESCRIPTION)
    )
    _add_scenario_parser(sub)
    _add_video_parser(sub)
    _add_wall_parser(sub)
    return parser


def _add_video_parser(sub: Any) -> None:
    p_video = sub.add_parser(
        "video",
        help="film a story (or a scenario's comparison) offscreen into an MP4, frame-exact",
    )
    p_video.add_argument("file", type=Path, help="a story .toml (or a scenario .toml)")
    p_video.add_argument("-o", "--output", type=Path, required=True, help="output .mp4")
    p_video.add_argument(
        "--size", type=_size, default=(1920, 1080), help="WxH pixels, even (default 1920x1080)"
    )
    p_video.add_argument("--fps", type=float, default=30.0, help="frames per second (30)")
    p_video.add_argument("--aa", choices=["auto", "off", "msaa", "ssaa"], default="auto")


def cmd_video(args: argparse.Namespace) -> int:
    """``twin video``: see :func:`twin_app.render.video.export_file`."""
    from twin_app.render.video import export_file

    if not 1.0 <= args.fps <= 240.0:
        raise TwinError(f"--fps {args.fps:g}: choose 1 to 240 frames per second")

    def bar(fraction: float, text: str) -> None:  # on a terminal: [#####-----]  45.0% frame k/n
        if sys.stderr.isatty():
            full = round(30 * fraction)
            end = "\n" if fraction >= 1.0 else ""
            line = f"\r[{'#' * full}{'-' * (30 - full)}] {100 * fraction:5.1f}% {text[:40]:<40}"
            print(line, end=end, file=sys.stderr, flush=True)

    check_writable(args.output)
    info = export_file(args.file, args.output, args.size, args.fps, args.aa, bar)
    w, h = info.size
    print(f"wrote {info.path} ({info.frames} frames, {w}x{h} at {info.fps:g} fps, "
          f"{info.frames_per_s:.1f} frames/s)")  # fmt: skip
    return 0


def _add_wall_parser(sub: Any) -> None:
    p = sub.add_parser(
        "wall",
        help="command-center wall: full screen, no chrome; 3D view, KPI tiles, charts, alerts, "
        "clock, a tour through the bookmarks and stories; replay on a loop or live",
    )
    p.add_argument("target", type=Path, help="a session (.twin.toml), twin folder or scenario")
    p.add_argument("--screen", type=int, default=0, help="screen number (default 0)")
    p.add_argument("--size", type=_size, help="WIDTHxHEIGHT instead of full screen")
    p.add_argument("--tour-s", type=float, default=30.0, help="seconds per tour stop (0: off)")
    p.add_argument("--replay-rate", type=float, default=100.0, help="replay speed (x real time)")
    p.add_argument("--live", metavar="HOST:PORT", help="subscribe to this MQTT broker")
    p.add_argument("--mapping", type=Path, help="SensorThings datastream map for --live")
    p.add_argument(
        "--chart", action="append", default=[], metavar="NAME",
        help="chart this KPI (a tile's name) or sensor id (repeat; default the first KPIs)",
    )  # fmt: skip
    p.add_argument(
        "--stale-factor", type=float, default=3.0,
        help="data older than this many sampling periods is shown STALE (default 3)",
    )  # fmt: skip
    p.add_argument(
        "--story", action="append", default=[], type=Path, metavar="FILE",
        help="play this story in the tour after each round of bookmarks (repeat)",
    )  # fmt: skip
    p.add_argument(
        "--no-stories", action="store_true",
        help="leave out the stories a twin ships in its stories/ folder",
    )  # fmt: skip


def cmd_wall(args: argparse.Namespace) -> int:
    """``twin wall``: the wall window until Esc or F11."""
    from twin_app.ui.wall import run_wall

    return run_wall(
        args.target, screen=args.screen, size=args.size, tour_s=args.tour_s,
        replay_rate=args.replay_rate, live=args.live, mapping=args.mapping, charts=args.chart,
        stale_factor=args.stale_factor, stories=args.story, twin_stories=not args.no_stories,
    )  # fmt: skip


def _add_scenario_parser(sub: Any) -> None:
    p_scen = sub.add_parser(
        "scenario",
        help="run a scenario file (baseline vs scenario KPIs) or sweep closures and rank them",
    )
    scen_sub = p_scen.add_subparsers(dest="scenario_command", required=True)
    p_run = scen_sub.add_parser(
        "run",
        help="run the baseline and the scenario of a TOML scenario file; print the KPIs side "
        "by side",
    )
    p_run.add_argument("file", type=Path, help="scenario file (.toml)")
    p_run.add_argument(
        "--json",
        action="store_true",
        help='print {"kpis": {NAME: {"baseline", "scenario", "delta", "unit"}}, "elapsed_s"}',
    )
    p_run.add_argument(
        "--export",
        type=Path,
        metavar="DIR",
        help="write links.csv (traffic), nodes.csv (water), sun_hours.npz (sun), air.npz (air) "
        "and radio.npz (radio) into DIR",
    )
    p_run.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="REPORT.html",
        help="write the report: one self-contained HTML file with the KPI table, charts and "
        "renders of baseline, scenario and their difference",
    )
    p_sweep = scen_sub.add_parser(
        "sweep",
        help="close each selected road (or pipe) in turn on the scenario and rank the closures "
        "by the harm they do",
    )
    p_sweep.add_argument("file", type=Path, help="scenario file (.toml): its networks")
    p_sweep.add_argument("--each", choices=["road", "pipe"], required=True)
    p_sweep.add_argument(
        "--where",
        metavar="EXPR",
        help="select elements by attribute, e.g. 'capacity > 4000' or 'link_type == 1' "
        "(roads: id, from_node, to_node, capacity, length, free_flow_time, b, power, speed, "
        "toll, link_type, flow_baseline; pipes: id, diameter_m, length_m, roughness, status)",
    )
    p_sweep.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running dask scheduler (tcp://host:8786); 'none' runs in this process; "
        "default: a local cluster of worker processes",
    )
    p_sweep.add_argument(
        "--workers", type=int, metavar="N", help="local cluster size (default: CPU count)"
    )
    p_sweep.add_argument("-o", "--output", type=Path, help="write the ranking CSV here")
    p_sweep.add_argument(
        "--top", type=int, default=10, metavar="N", help="rows of the ranking to print"
    )


def cmd_feed(args: argparse.Namespace) -> int:
    """``twin feed publish`` / ``twin feed record``."""
    from twin_app.feeds.publish import run_publish, run_record

    return run_publish(args) if args.feed_command == "publish" else run_record(args)


def _terminal_progress(fraction: float, text: str) -> None:
    """Progress on the terminal (stderr, one rewritten line) when it is a terminal."""
    if sys.stderr.isatty():
        end = "\n" if fraction >= 1.0 else ""
        print(f"\r{100 * fraction:5.1f}% {text[:60]:<60}", end=end, file=sys.stderr, flush=True)


def cmd_scenario(args: argparse.Namespace) -> int:
    """``twin scenario run`` / ``twin scenario sweep``."""
    from twin_app.scenarios.file import load_scenario

    scenario = load_scenario(args.file)
    if args.output is not None:  # refused before the run, not after it
        check_writable(args.output)
    if getattr(args, "export", None) is not None:
        check_writable(args.export, folder=True)
    if args.scenario_command == "sweep":
        return _scenario_sweep(args, scenario)
    from twin_app.scenarios.report import export_tables, format_kpis, result_json
    from twin_app.scenarios.run import run_scenario

    session = None
    if args.output is not None:  # the report draws the twin: run in a session that has it
        from twin_app.render.report import report_session

        session = report_session(args.file)
        session.messages.connect(_print_message)
        result = session.run_scenario(progress=_terminal_progress)
    else:
        result = run_scenario(scenario, progress=_terminal_progress)
    for line in result.warnings:
        print(f"twin: warning: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps(result_json(result), indent=2))
    else:
        print(format_kpis(result))
    if args.export is not None:
        for path in export_tables(result, args.export):
            print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    if session is not None:
        from twin_app.atomic import atomic_write_text
        from twin_app.render.report import scenario_report

        atomic_write_text(args.output, scenario_report(session, result))
        print(f"wrote {args.output}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _scenario_sweep(args: argparse.Namespace, scenario: Any) -> int:
    from twin_app.scenarios.sweep import run_sweep, write_ranking

    if args.workers is not None and args.workers < 1:
        raise TwinError(f"--workers {args.workers}: must be at least 1")
    if not args.verbose:
        import distributed  # noqa: F401  (it sets its loggers up on import: quieten them after)

        # dask logs every cluster start and worker connection at INFO
        logging.getLogger("distributed").setLevel(logging.ERROR)
    result = run_sweep(
        scenario,
        args.each,
        where=args.where,
        scheduler=args.scheduler,
        workers=args.workers,
        progress=_terminal_progress,
    )
    where = f" on {result.workers} workers" if result.workers else " in process"
    table = result.ranking.head(max(args.top, 0))
    print(
        f"{scenario.name}: {len(result.ranking)} {args.each} closures{where} in "
        f"{result.elapsed_s:.1f} s, ranked by {result.main_kpi} (baseline "
        f"{result.baseline[result.main_kpi]:.6g})"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    if args.output is not None:
        print(f"wrote {write_ranking(result, args.output)}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """``twin info``: print a summary per file, twin folder or session file; errors per path,
    non-zero exit if any."""
    from twin_app.session.twin import format_any_summary, summarize

    opts = _read_options(args)
    results: list[dict[str, object]] = []
    status = 0
    for path in args.paths:
        try:
            results.append(summarize(path, opts))
        except TwinError as err:
            status = 2
            results.append({"path": str(path), "error": str(err)})
            if not args.json:
                print(f"twin: error: {err}", file=sys.stderr)
        except Exception as exc:  # a case no reader foresaw: one line, traceback in the log
            log.debug("twin info %s failed", path, exc_info=True)
            status = 2
            text = f"{path}: cannot read ({_one_line(exc)}); run with -v for details"
            results.append({"path": str(path), "error": text})
            if not args.json:
                print(f"twin: error: {text}", file=sys.stderr)
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2, default=str))
    else:
        print("\n\n".join(format_any_summary(r) for r in results if "error" not in r))
    return status


def cmd_render(args: argparse.Namespace) -> int:
    """``twin render``: open files, a twin folder or a session through the session core, bring
    the clock to ``--at``, draw it through the viewer binding on an offscreen plotter (as the
    window would), save a PNG."""
    from twin_app.model.layers import BuildingLayer, IfcLayer
    from twin_app.render.plotter import AA
    from twin_app.render.snapshot import SSAA_MAX_PIXELS, snapshot
    from twin_app.session import Session
    from twin_app.session.opening import open_paths

    check_writable(args.output)
    opts = _read_options(args)
    session = Session()
    session.messages.connect(_print_message)
    errors: list[str] = []
    session.messages.connect(lambda level, text: errors.append(text) if level == "error" else None)
    twins = open_paths(session, list(args.paths), opts)
    if args.at is not None and _lonlat(args.at) is None:
        _seek_to(session, args.at, twins[0].timezone if twins else "UTC")
    if args.color_by:
        # the buildings and the IFC models: each that offers the colouring takes it
        drawn = [x for x in session.layers if isinstance(x, (BuildingLayer, IfcLayer))]
        takers = [x for x in drawn if args.color_by in x.color_choices()]
        if drawn and not takers:
            offered = dict.fromkeys(c for x in drawn for c in x.color_choices())
            raise TwinError(
                f"--color-by {args.color_by!r} is not available; choose from {', '.join(offered)}"
            )
        for layer in takers:
            layer.color_by = args.color_by
    w, h = args.size
    # Up to 16384 a side: in tiles where the GL's framebuffer is smaller (render/snapshot.py).
    aa: AA = args.aa if args.aa != "ssaa" or w * h <= SSAA_MAX_PIXELS else "off"
    snapshot(
        session,
        (w, h),
        title=args.title,
        attribution=None if args.attribution else "",
        path=args.output,
        view=args.view,
        azimuth_deg=args.azimuth,
        aa=aa,
    )
    shown = session.clock.t_ns
    when = f" at {_local_text(shown, twins[0].timezone if twins else 'UTC')}" if twins else ""
    print(f"wrote {args.output} ({w}x{h}){when}")
    # The readable files were drawn; a file that could not be read still fails the command.
    return 2 if errors else 0


def _print_message(level: str, text: str) -> None:
    if level != "info":
        print(f"twin: {level}: {text}", file=sys.stderr)


def _local_text(t_ns: int, tz: str) -> str:
    import datetime as dt
    from zoneinfo import ZoneInfo

    t = dt.datetime.fromtimestamp(t_ns / 1e9, tz=dt.UTC).astimezone(ZoneInfo(tz))
    return t.strftime("%Y-%m-%d %H:%M %Z")


def _seek_to(session: Any, text: str, timezone: str) -> None:
    """Move the session's clock to ``--at`` (local time of the twin unless it has an offset)."""
    from twin_app.model.times import parse_time

    t = parse_time(text, assume_tz=timezone, source="--at")
    clock = session.clock
    if not session.time_layers():
        raise TwinError("--at needs a twin with replay series (a twin folder or a session)")
    if not clock.start_ns <= t <= clock.end_ns:
        raise TwinError(
            f"--at {text}: outside the replay range {_local_text(clock.start_ns, timezone)} "
            f"to {_local_text(clock.end_ns, timezone)}"
        )
    clock.seek(t)


def cmd_open(args: argparse.Namespace) -> int:
    """``twin open``: start the desktop application."""
    from twin_app.app import run_app

    paths = [str(p) for p in args.paths]
    return run_app(paths, _read_options(args), screenshot=args.screenshot)


class _LogFormat(logging.Formatter):
    """The app's own log lines as the CLI's other messages (``twin: warning: ...``); a
    library's keep its name (``twin: warning: wntr.epanet.io: ...``)."""

    def format(self, record: logging.LogRecord) -> str:
        name = "" if record.name.startswith("twin_app") else f"{record.name}: "
        return f"twin: {record.levelname.lower()}: {name}{record.getMessage()}"


#: Options whose value may start with a minus sign (a western longitude, a negative angle).
_SIGNED = ("--at", "--rotate", "--azimuth")
_NUMBERS = re.compile(r"-[\d.][\d.,:eE+-]*")


def _join_signed(argv: Sequence[str]) -> list[str]:
    """``--at -0.1,51.5`` as ``--at=-0.1,51.5``: argparse takes a value starting with ``-``
    (other than one plain number) for an option, so London and the Americas were refused."""
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        a = items[i]
        if a in _SIGNED and i + 1 < len(items) and _NUMBERS.fullmatch(items[i + 1]):
            out.append(f"{a}={items[i + 1]}")
            i += 2
        else:
            out.append(a)
            i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twin`` console script."""
    parser = build_parser()
    args = parser.parse_args(_join_signed(sys.argv[1:] if argv is None else argv))
    handler = logging.StreamHandler()
    handler.setFormatter(_LogFormat())
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler]
    )
    if not args.verbose:  # wntr logs every unused curve of a network it reads
        logging.getLogger("wntr").setLevel(logging.ERROR)
    if args.command is None:
        args = parser.parse_args(["open", *(argv or [])])
    try:
        if args.command == "info":
            return cmd_info(args)
        if args.command == "render":
            return cmd_render(args)
        if args.command == "feed":
            return cmd_feed(args)
        if args.command == "scenario":
            return cmd_scenario(args)
        if args.command == "video":
            return cmd_video(args)
        if args.command == "wall":
            return cmd_wall(args)
        return cmd_open(args)
    except TwinError as err:
        print(f"twin: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a file the command writes or reads outside the readers
        if args.verbose:
            raise
        name = exc.filename if exc.filename is not None else "twin"
        print(f"twin: error: {name}: {exc.strerror or _one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback for bad input; -v shows it
        if args.verbose:
            raise
        where = ", ".join(str(p) for p in getattr(args, "paths", []) or [])
        prefix = f"{where}: " if where else ""
        print(
            f"twin: error: {prefix}{_one_line(exc)}; run with -v for the traceback",
            file=sys.stderr,
        )
        return 2


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "no message"
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 200 else text[:197] + "..."


if __name__ == "__main__":
    sys.exit(main())
