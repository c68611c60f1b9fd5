"""Cut the sample twin's replay series out of ../shared/data (run once by maintainers).

The files written to twin_app/city_models/city_of_london/ keep the data's ORIGINAL timestamps and
values; the manifest says how the twin's clock maps onto them. Nothing is synthesised.

    .venv/bin/python scripts/make_sample_series.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

from twin_app.feeds.longformat import write_long

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the dataset loaders are not part of the package
from shared_datasets import (  # noqa: E402
    BEIJING_STATIONS_SOURCE,
    load_beijing_prsa,
    load_liverpool_bus,
    load_metr_la,
)

SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "twin_app" / "city_models" / "city_of_london"


def main() -> None:
    # METR-LA: Monday 5 to Wednesday 7 March 2012, Los Angeles local time (PST = UTC-8).
    speeds, sensors = load_metr_la(SHARED)
    t0, t1 = pd.Timestamp("2012-03-05T08:00:00Z"), pd.Timestamp("2012-03-08T08:00:00Z")
    sel = speeds[(speeds["t"] >= t0) & (speeds["t"] < t1)]
    write_long(
        OUT / "traffic_metr_la.parquet", sel[["sensor_id", "t", "value"]].reset_index(drop=True)
    )
    sensors.to_csv(OUT / "metr_la_sensors.csv", index=False)
    # Beijing PRSA: 19 to 21 December 2016 (the red-alert smog), Beijing time (UTC+8).
    air, stations = load_beijing_prsa(
        SHARED, start="2016-12-18T16:00:00Z", end="2016-12-21T16:00:00Z"
    )
    write_long(
        OUT / "air_beijing_prsa.parquet", air[["sensor_id", "t", "value"]].reset_index(drop=True)
    )
    stations.assign(source=BEIJING_STATIONS_SOURCE).to_csv(
        OUT / "beijing_stations.csv", index=False
    )
    # Their wind (wd: compass point it blows from, WSPM: m/s), the same hours, rows and columns
    # cut unchanged from the station files (local Beijing time, as there).
    wind = []
    for f in sorted((SHARED / "airquality" / "beijing_prsa").glob("PRSA_Data_*.csv.gz")):
        df = pd.read_csv(f, usecols=["No", "year", "month", "day", "hour", "wd", "WSPM", "station"])
        local = pd.to_datetime(df[["year", "month", "day", "hour"]])
        wind.append(df[(local >= "2016-12-19 00:00") & (local <= "2016-12-22 00:00")])
    pd.concat(wind).to_csv(OUT / "wind_beijing_prsa.csv", index=False)
    # Liverpool route 14 buses, Monday 26 January 2026, 15:55-18:19 UTC.
    buses = load_liverpool_bus(SHARED / "trajectories" / "liverpool_bus_route14_outbound.csv")
    write_long(
        OUT / "buses_liverpool.parquet",
        buses[["sensor_id", "t", "lon", "lat"]].reset_index(drop=True),
    )
    # D-Town water network (Battle of the Water Networks II).
    shutil.copyfile(SHARED / "water" / "d-town.inp", OUT / "d-town.inp")
    for p in sorted(OUT.iterdir()):
        print(f"{p.name:32s} {p.stat().st_size:>10,d} bytes")


if __name__ == "__main__":
    main()
