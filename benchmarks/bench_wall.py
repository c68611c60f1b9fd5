"""Wall mode under load: a soak of the wall at 3840x2160 with a live feed that drops and returns.

    python benchmarks/bench_wall.py [--minutes 60] [--json]

The wall (``twin_app.ui.wall.QtWallWindow``, the window ``twin wall`` opens) runs in a child
process under Xvfb (a 3840x2160 screen, started here when there is no display) and replays the
bundled sample twin at x100, looping over its first ``--loop-hours`` of data so the loop's wrap
is exercised many times, with its tour moving the camera every ``--tour-s`` seconds and, after
each round of stops, playing the sample twin's stories (as ``twin wall`` does; their scenario
steps show the compare view). A real
mosquitto broker runs beside it; a publisher sends ``--sensors`` METR-LA detector readings
(stamped now) every ``--publish-s`` seconds, which the wall's session takes in as live samples,
and every ``--outage-every-min`` minutes the broker is stopped for ``--outage-s`` seconds and
started again on the same port. Nobody touches the wall.

Every ``--sample-s`` seconds the child samples its resident memory (psutil, else /proc) and
open handles (/proc/self/fd). Reported:
- soak_minutes; rss_start_mb / rss_end_mb; rss_slope_mb_per_h: least-squares slope of RSS after
  the ``--warmup-min`` warm-up (target <= 5 over >= 20 minutes); handles_start / handles_end /
  handles_slope_per_h (the same for open file descriptors); rss_window_means_mb (the mean RSS of
  each 5-minute window after the warm-up), rss_window_slope_mb_per_h and
  rss_window_slope_se_mb_per_h (the slope through those means and its standard error: the
  samples within a round of the tour are not independent, the windows nearly are); tour_rounds and
  rss_round_slope_mb_per_h (RSS at the start of each round of the tour: the slope without the
  loop's own swing); rss_floor_mb and rss_floor_slope_mb_per_h (the least RSS of each 5-minute
  window after the warm-up, and its slope)
- broker_restarts, reconnects (the feed came back to "connected" after a drop), stale_refreshes
  (refreshes whose banner said STALE: the outages were shown), live_samples (samples used)
- loops (times the replay wrapped), ticks, tour_moves
- video_fps / raw_render_fps: measured by benchmarks/bench_video.py (null here)

Bisecting a growth: ``--size 1920x1080`` for shorter, cheaper runs, and ``--no-charts``,
``--no-3d`` (the 3D view hidden), ``--no-tour``, ``--no-live`` (no MQTT subscription),
``--no-refresh`` (no tiles, clock, charts, ticker), ``--no-stories`` each turn one part off, and
``--smaps`` adds resident MB by mapping kind, glibc's in-use / free / mapped heap and (on stderr)
the Python object kinds that grew after the warm-up; compare runs of equal
length (the 1080p wall grew 63 MB/h with all on, 2.8 with ``--no-3d``, 4.5 with
``--no-refresh``: text changes resized the 3D view, fixed in twin_app/ui/wall.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, emit

SIZE = (3840, 2160)


# -- the child: the wall itself ----------------------------------------------------------------
def child(args: argparse.Namespace) -> None:
    import gc

    import numpy as np
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from twin_app.io.manifest import SAMPLE_DIR
    from twin_app.session import Session
    from twin_app.ui.wall import QtWallWindow, WallLoader

    try:
        import psutil

        proc = psutil.Process()

        def rss_mb() -> float:
            return float(proc.memory_info().rss) / 2**20
    except ImportError:

        def rss_mb() -> float:
            with open("/proc/self/status") as f:
                line = next(x for x in f if x.startswith("VmRSS:"))
            return int(line.split()[1]) / 1024.0

    def handles() -> int:
        return len(os.listdir("/proc/self/fd"))

    def breakdown() -> dict[str, float]:
        """Resident MB by mapping kind (/proc/self/smaps) and glibc's heap in use / free."""
        out: dict[str, float] = {}
        kind = "anon"
        with open("/proc/self/smaps") as f:
            for line in f:
                head = line.split(None, 6)
                if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
                    name = head[5].strip() if len(head) > 5 else ""
                    kind = (
                        "anon" if not name else name if name.startswith("[") else
                        "file:" + os.path.basename(name).split(".so")[0]
                    )  # fmt: skip
                elif head[0] == "Rss:":
                    out[kind] = out.get(kind, 0.0) + int(head[1]) / 1024.0
        big = {k: round(v, 1) for k, v in out.items() if v >= 5 or not k.startswith("file:")}
        info = mallinfo()
        if info is not None:
            big["malloc_in_use"] = round(info[0] / 2**20, 1)
            big["malloc_free"] = round(info[1] / 2**20, 1)
            big["malloc_mmapped"] = round(info[2] / 2**20, 1)
        return big

    def mallinfo() -> tuple[int, int, int] | None:
        import ctypes

        class MallInfo2(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                "uordblks", "fordblks", "keepcost")]  # fmt: skip

        try:
            fn = ctypes.CDLL("libc.so.6").mallinfo2
        except (OSError, AttributeError):
            return None
        fn.restype = MallInfo2
        m = fn()
        return int(m.uordblks), int(m.fordblks), int(m.hblkhd)

    app = QApplication([])
    from twin_app.ui.gui_gc import collect_on_gui_thread

    collect_on_gui_thread()  # as `twin wall` does
    session = Session()
    session.live.silent_after_s = max(3.0 * args.publish_s, 5.0)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    wall = QtWallWindow(session, tour_s=0.0 if args.no_tour else args.tour_s)
    # Switches for bisecting a growth: each turns one part of the wall off.
    if args.no_charts:
        wall._ensure_charts = lambda live: None  # type: ignore[method-assign]
    if args.no_3d:
        wall.view.hide()
    if args.trim_s:
        wall.trim_timer.setInterval(int(args.trim_s * 1000))
    st: dict[str, Any] = {
        "t0": None, "samples": [], "ticks": 0, "loops": 0, "last_t": 0, "stale": 0,
        "reconnects": 0, "was_down": False, "tour": 0, "used": 0, "objects": [], "rounds": [],
    }  # fmt: skip
    tick, refresh, step = wall.tick, wall.refresh, wall.tour.next if wall.tour else None

    def counted_tick() -> None:
        st["ticks"] += 1
        used, _ = session.live.drain()
        st["used"] += used
        t = session.clock.t_ns
        session.clock.advance(wall._tick_clock.restart() / 1000.0)
        if session.clock.t_ns < t:
            st["loops"] += 1

    def counted_refresh() -> None:
        if not args.no_refresh:
            refresh()
        feed = session.live.feed
        state = str(feed.state.value) if feed is not None else ""
        if state and state != "connected":
            st["was_down"] = True
        elif state == "connected" and st["was_down"]:
            st["was_down"] = False
            st["reconnects"] += 1
        if wall.banner.isVisible() and "Live feed" in wall.banner.text():
            st["stale"] += 1

    wall.tick_timer.timeout.disconnect()
    wall.tick_timer.timeout.connect(counted_tick)
    wall.refresh_timer.timeout.disconnect()
    wall.refresh_timer.timeout.connect(counted_refresh)
    if step is not None:
        assert wall.tour is not None
        orig_next = wall.tour.next

        def counted_next() -> Any:
            st["tour"] += 1
            return orig_next()

        wall.tour.next = counted_next  # type: ignore[method-assign]
    del tick

    def round_started(_stop: Any) -> None:
        # the same point of the tour's loop each time: the slope without the loop's own swing
        if st["t0"] is not None and wall.program._visited == 1:
            st["rounds"].append((time.monotonic() - st["t0"], rss_mb()))

    wall.program.stop_changed.connect(round_started)

    def ready() -> None:
        c = session.clock
        if not args.no_stories:
            wall.prepare_stories()  # as ``twin wall`` does: the stories' scenarios, once
        if not args.no_live:
            session.live.connect(args.broker)
        c.live = False  # replay at x100 while the live samples flow into the stores
        start = c.t_ns
        c.loop_start_ns, c.loop_end_ns = start, start + int(args.loop_hours * 3600e9)
        c.set_rate(args.rate)
        c.loop = True
        if not c.playing:
            c.play()
        wall.start_tour()
        st["t0"] = time.monotonic()
        sample()

    def sample() -> None:
        t = time.monotonic() - st["t0"]
        st["samples"].append((t, rss_mb(), handles()))
        if args.smaps:
            st.setdefault("breakdown", []).append((round(t), breakdown()))
        if len(st["samples"]) % 12 == 1:
            gc.collect()
            objects = gc.get_objects()
            st["objects"].append((t, len(objects)))
            if args.smaps:  # which kinds of Python object grow
                from collections import Counter

                kinds = Counter(type(o).__qualname__ for o in objects)
                if t >= args.warmup_min * 60 and "kinds0" not in st:
                    st["kinds0"] = kinds
                st["kinds"] = kinds
            del objects
        if t >= args.minutes * 60:
            app.quit()
            return
        QTimer.singleShot(int(args.sample_s * 1000), sample)

    if not args.no_stories:
        from twin_app.session.wall import wall_stories

        wall.add_stories(wall_stories(SAMPLE_DIR))  # the sample twin's tour.toml, as twin wall
    loader = WallLoader(wall, ready)
    wall.show_on(0, size)  # type: ignore[arg-type]
    loader.start(SAMPLE_DIR)
    app.exec()
    s = np.array(st["samples"], float)
    warm = s[s[:, 0] >= args.warmup_min * 60]
    if len(warm) < 3:
        warm = s

    def slope(col: int) -> float:
        return float(np.polyfit(warm[:, 0] / 3600, warm[:, col], 1)[0]) if len(warm) > 2 else 0.0

    objs = st["objects"]
    # the floor: the least RSS of each 5-minute window after the warm-up (what stays resident
    # whatever the tour shows at the moment), and its slope
    edges = np.arange(args.warmup_min * 60, s[-1, 0] + 1e-9, 300.0)
    floor = [
        (lo + 150.0, float(s[(s[:, 0] >= lo) & (s[:, 0] < lo + 300.0), 1].min()))
        for lo in edges
        if ((s[:, 0] >= lo) & (s[:, 0] < lo + 300.0)).sum() >= 10
    ]
    floor_slope = (
        float(np.polyfit([f[0] / 3600 for f in floor], [f[1] for f in floor], 1)[0])
        if len(floor) > 2
        else None
    )
    if "kinds0" in st:
        grew = st["kinds"] - st["kinds0"]
        print("GREW", grew.most_common(25), flush=True)
    rounds = np.array([r for r in st["rounds"] if r[0] >= args.warmup_min * 60], float)
    round_slope = (
        float(np.polyfit(rounds[:, 0] / 3600, rounds[:, 1], 1)[0]) if len(rounds) > 2 else None
    )
    # The samples within a round of the tour move together (what it shows), so the least-squares
    # slope's textbook error is too small; the mean of each 5-minute window (one to two rounds)
    # is nearly independent, and the slope through those means has an honest standard error.
    means = np.array(
        [
            (lo + 150.0, float(s[(s[:, 0] >= lo) & (s[:, 0] < lo + 300.0), 1].mean()))
            for lo in edges
            if ((s[:, 0] >= lo) & (s[:, 0] < lo + 300.0)).sum() >= 10
        ]
    ).reshape(-1, 2)
    mean_slope = mean_se = None
    if len(means) > 3:
        x, y = means[:, 0] / 3600, means[:, 1]
        fit, res, *_ = np.polyfit(x, y, 1, full=True)
        mean_slope = float(fit[0])
        resid = float(res[0]) if len(res) else 0.0
        mean_se = float(np.sqrt(resid / (len(x) - 2) / ((x - x.mean()) ** 2).sum()))
    if args.samples:
        header, table = "t_s,rss_mb,handles", s
        if st.get("breakdown"):
            cols = ("malloc_in_use", "malloc_free", "malloc_mmapped", "[heap]", "anon")
            extra = np.array([[b.get(c, np.nan) for c in cols] for _, b in st["breakdown"]])
            header, table = header + "," + ",".join(cols), np.hstack([s, extra])
        np.savetxt(args.samples, table, fmt="%.2f", delimiter=",", header=header)
    print(
        "RESULT "
        + json.dumps(
            {
                "soak_minutes": round(float(s[-1, 0]) / 60, 2),
                "size": args.size,
                "rate": args.rate,
                "rss_start_mb": round(float(warm[0, 1]), 1),
                "rss_end_mb": round(float(s[-1, 1]), 1),
                "rss_slope_mb_per_h": round(slope(1), 2),
                "rss_floor_mb": [round(f[1], 1) for f in floor],
                "rss_floor_slope_mb_per_h": None if floor_slope is None else round(floor_slope, 2),
                "rss_window_means_mb": [round(float(m), 1) for m in means[:, 1]],
                "rss_window_slope_mb_per_h": None if mean_slope is None else round(mean_slope, 2),
                "rss_window_slope_se_mb_per_h": None if mean_se is None else round(mean_se, 2),
                "tour_rounds": len(st["rounds"]),
                "rss_round_slope_mb_per_h": None if round_slope is None else round(round_slope, 2),
                "handles_start": int(warm[0, 2]),
                "handles_end": int(s[-1, 2]),
                "handles_slope_per_h": round(slope(2), 2),
                "python_objects_start_end": [objs[0][1], objs[-1][1]] if objs else None,
                "reconnects": st["reconnects"],
                "stale_refreshes": st["stale"],
                "live_samples": st["used"],
                "loops": st["loops"],
                "ticks": st["ticks"],
                "tour_moves": st["tour"],
                "load_error": loader.error or None,
                "breakdown_first_last": [
                    st["breakdown"][k] for k in (0, len(st["breakdown"]) // 2, -1)
                ]
                if st.get("breakdown")
                else None,
            }
        ),
        flush=True,
    )
    session.live.disconnect()
    wall.close()


# -- the parent: broker, publisher, outages -------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """A throw-away mosquitto on 127.0.0.1:port (persistence on, so sessions survive restarts)."""

    def __init__(self, folder: Path) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise SystemExit("bench_wall needs mosquitto (apt-get install mosquitto)")
        self.exe, self.port, self.folder = exe, free_port(), folder
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder}/\nmax_queued_messages 100000\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> None:
        log = (self.folder / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=log, stderr=log)
        log.close()
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"mosquitto did not listen on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def publisher(url: str, n: int, every_s: float, stop: threading.Event) -> None:
    """Send `n` real METR-LA detector ids with their first replayed value, stamped now."""
    import datetime as dt

    import paho.mqtt.client as mqtt

    from twin_app.feeds.longformat import read_long
    from twin_app.feeds.sensorthings import observation_topic
    from twin_app.io.manifest import SAMPLE_DIR

    rows = read_long(SAMPLE_DIR / "traffic_metr_la.parquet")
    first = rows.groupby("sensor_id", as_index=False).first().head(n)
    host, port = url.split(":")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-wall-pub")
    client.reconnect_delay_set(1, 5)
    client.connect_async(host, int(port))
    client.loop_start()
    k = 0
    while not stop.wait(every_s):
        now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        for sid, v in zip(first["sensor_id"], first["value"], strict=True):
            body = {"phenomenonTime": now, "result": float(v) * (0.8 + 0.2 * (k % 5) / 4)}
            client.publish(observation_topic(str(sid)), json.dumps(body), qos=1)
        k += 1
    client.loop_stop()
    client.disconnect()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--minutes", type=float, default=60.0, help="soak length, warm-up included")
    ap.add_argument("--rate", type=float, default=100.0, help="replay rate (x real time)")
    ap.add_argument("--loop-hours", type=float, default=6.0, help="replay loop length, hours")
    ap.add_argument("--tour-s", type=float, default=20.0)
    # glibc's free heap settles over the first 10-15 minutes at 4K (stop 17's 58-minute soak)
    ap.add_argument("--warmup-min", type=float, default=20.0)
    ap.add_argument("--sample-s", type=float, default=5.0)
    ap.add_argument("--sensors", type=int, default=10)
    ap.add_argument("--publish-s", type=float, default=5.0)
    ap.add_argument("--outage-every-min", type=float, default=5.0)
    ap.add_argument("--outage-s", type=float, default=30.0)
    ap.add_argument("--size", default=f"{SIZE[0]}x{SIZE[1]}", help="wall size WxH, pixels")
    ap.add_argument("--no-charts", action="store_true", help="bisecting: no charts")
    ap.add_argument("--no-3d", action="store_true", help="bisecting: the 3D view hidden")
    ap.add_argument("--no-tour", action="store_true", help="bisecting: no tour")
    ap.add_argument("--no-stories", action="store_true", help="bisecting: no stories in the tour")
    ap.add_argument("--no-live", action="store_true", help="bisecting: no MQTT subscription")
    ap.add_argument("--no-refresh", action="store_true", help="bisecting: no tiles/clock/...")
    ap.add_argument("--trim-s", type=float, help="seconds between heap trims (the wall's own)")
    ap.add_argument(
        "--smaps", action="store_true", help="bisecting: resident MB by mapping kind, malloc's"
    )
    ap.add_argument("--samples", help="also write the samples (t_s, rss_mb, handles) to this CSV")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--broker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-wall-"))
    broker = Broker(folder)
    broker.start()
    url = f"127.0.0.1:{broker.port}"
    stop = threading.Event()
    pub = threading.Thread(
        target=publisher, args=(url, args.sensors, args.publish_s, stop), daemon=True
    )
    pub.start()

    def outages() -> None:
        while not stop.wait(args.outage_every_min * 60):
            broker.stop()
            if stop.wait(args.outage_s):
                break
            broker.start()
            broker.restarts += 1

    out_thread = threading.Thread(target=outages, daemon=True)
    out_thread.start()
    passthrough = [
        f"--{k.replace('_', '-')}" + ("" if v is True else f"={v}")
        for k, v in vars(args).items()
        if k not in ("json", "child", "broker") and v is not None and v is not False
    ]
    cmd = [sys.executable, __file__, "--child", f"--broker={url}", *passthrough]
    if not os.environ.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            raise SystemExit("bench_wall needs an X display or xvfb-run (apt-get install xvfb)")
        cmd = ["xvfb-run", "-a", "-s", f"-screen 0 {args.size}x24", *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    finally:
        stop.set()
        if broker.proc is None:
            broker.start()  # let the publisher thread finish cleanly
        broker.stop()
    for x in out.stdout.splitlines():
        if x.startswith("GREW "):
            print(x, file=sys.stderr)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    result: dict[str, Any] = {"alive": line is not None and out.returncode == 0}
    if line is None:
        result["exit_code"] = out.returncode
        result["error"] = "\n".join(out.stderr.splitlines()[-12:])
    else:
        result.update(json.loads(line[len("RESULT ") :]))
    result["broker_restarts"] = broker.restarts
    result["target_rss_slope_mb_per_h"] = 5.0
    result["video_fps"] = None  # benchmarks/bench_video.py measures the video export
    result["raw_render_fps"] = None
    emit(result, args.json)
    if not result["alive"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
