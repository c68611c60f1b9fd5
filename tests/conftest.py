"""Shared fixtures: the shared sample data beside the project and small generated files."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

if os.environ.get("TWIN_PURE") == "1":
    # before any test module (and so any twin_app module) is imported: see tests/purity.py
    import purity

    purity.install()

#: ``../shared/data`` beside the project root (real city files, not in the repository).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: The corpus of broken inputs (DESIGN.md section 9.5).
BAD_DIR = Path(__file__).resolve().parent / "data" / "bad"

#: Layers of the multi-layer GeoPackage, in the order they are written.
MULTI_LAYERS = ("buildings", "roads", "parcels", "rivers")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared sample data folder; tests that need it are skipped when it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared sample data {SHARED_DATA} not available")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_file(shared_data: Path) -> Callable[[str], Path]:
    """``shared_file("osm/london.osm.pbf")``: a shared sample file, or skip if it is missing."""

    def get(relpath: str) -> Path:
        path = shared_data / relpath
        if not path.is_file():
            pytest.skip(f"shared sample file {path} not available")
        return path

    return get


@pytest.fixture(scope="session")
def bad_dir() -> Path:
    """``tests/data/bad``."""
    return BAD_DIR


@pytest.fixture(scope="session")
def multilayer_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GeoPackage in EPSG:28992 with layers ``buildings`` (2 polygons, heights 10 and 20 m),
    ``roads`` (2 lines), ``parcels`` (1 polygon) and ``rivers`` (1 line)."""
    import geopandas as gpd
    import shapely

    path = tmp_path_factory.mktemp("multi") / "city.gpkg"
    crs = "EPSG:28992"
    x0, y0 = 85000.0, 447000.0
    layers = {
        "buildings": gpd.GeoDataFrame(
            {"id": ["b1", "b2"], "height": [10.0, 20.0]},
            geometry=[
                shapely.box(x0, y0, x0 + 10, y0 + 10),
                shapely.box(x0 + 20, y0, x0 + 30, y0 + 10),
            ],
            crs=crs,
        ),
        "roads": gpd.GeoDataFrame(
            {
                "id": ["r1", "r2"],
                "highway": ["primary", "residential"],
                "lanes": [2.0, None],
                "maxspeed": ["30 mph", "50"],
            },
            geometry=[
                shapely.LineString([(x0 - 10, y0 - 10), (x0 + 40, y0 - 10)]),
                shapely.LineString([(x0 - 10, y0 + 20), (x0 + 40, y0 + 20)]),
            ],
            crs=crs,
        ),
        "parcels": gpd.GeoDataFrame(
            {"id": ["a1"]}, geometry=[shapely.box(x0 - 20, y0 - 20, x0 + 50, y0 + 30)], crs=crs
        ),
        "rivers": gpd.GeoDataFrame(
            {"id": ["w1"]},
            geometry=[shapely.LineString([(x0 - 20, y0 + 40), (x0 + 50, y0 + 45)])],
            crs=crs,
        ),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in MULTI_LAYERS:
            layers[name].to_file(path, layer=name, driver="GPKG")
    return path


# ---- a real mosquitto broker on a free loopback port (feeds and live UI tests) ----

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).is_file()), None
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """A mosquitto process with persistence in a temporary folder; restartable on its port.

    The config autosaves the in-memory database on every change, so that sessions and queued
    messages survive even a SIGKILL (mosquitto otherwise saves only every 30 min and on a clean
    shutdown).
    """

    def __init__(self, exe: str, folder: Path, anonymous: bool = True) -> None:
        self.exe = exe
        self.folder = folder
        self.port = free_port()
        self.host = "127.0.0.1"
        self.conf = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        self.db = folder / "mosquitto.db"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if anonymous else 'false'}\n"
            "persistence true\n"
            f"persistence_location {folder}/\n"
            "autosave_on_changes true\n"
            "autosave_interval 1\n"
            # mosquitto started as root switches to user 'mosquitto', which cannot write here.
            f"user {getpass.getuser()}\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``host:port`` as the feeds take it."""
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start mosquitto and wait until its port accepts connections."""
        logf = self.log.open("ab")
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=logf, stderr=subprocess.STDOUT
        )
        logf.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited ({self.proc.returncode}): {self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), timeout=0.2),
            ):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.url}: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no final save."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM and wait (mosquitto saves its database)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def log_tail(self, n: int = 15) -> str:
        """The last lines of mosquitto's log, on one line."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-n:])


@pytest.fixture
def closed_port() -> str:
    """``127.0.0.1:<port>`` where nothing listens."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def make_broker(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    """``make_broker(anonymous=True)``: start a fresh mosquitto; all are stopped at the end.

    Skips the test when the ``mosquitto`` binary is missing.
    """
    if MOSQUITTO is None:
        pytest.skip(
            "mosquitto binary not found (Debian: apt-get install mosquitto; CI installs it)"
        )
    exe = MOSQUITTO
    brokers: list[Broker] = []

    def make(anonymous: bool = True) -> Broker:
        folder = tmp_path / f"broker{len(brokers)}"
        folder.mkdir()
        broker = Broker(exe, folder, anonymous=anonymous)
        brokers.append(broker)
        broker.start()
        return broker

    try:
        yield make
    finally:
        for broker in brokers:
            broker.stop()


@pytest.fixture
def mosquitto(make_broker: Callable[..., Broker]) -> Broker:
    """A fresh mosquitto broker (``broker.url`` is ``127.0.0.1:<port>``), stopped at the end."""
    return make_broker()
