"""Windowed sensor average

Average temperature per sensor and minute, in event time: each reading
carries the time it was taken, an `EventClock` reads it, and a
`TumblingWindower` puts the readings into one-minute windows. Readings
that arrive a few seconds out of order still land in the right window.
"""

from datetime import datetime, timedelta, timezone
from importlib.resources import files

import rillet.operators as op
import rillet.operators.windowing as win
from rillet.connectors.files import CSVSource
from rillet.connectors.stdio import StdOutSink
from rillet.dataflow import Dataflow
from rillet.operators.windowing import EventClock, TumblingWindower

READINGS = files("rillet.pipeline") / "examples" / "data" / "sensors.csv"
WINDOW = timedelta(minutes=1)
ALIGN_TO = datetime(2024, 6, 1, tzinfo=timezone.utc)


def parse_reading(row):
    """A CSV row (all strings) as a reading with a timestamp and a number."""
    return {
        "sensor": row["sensor"],
        "time": datetime.fromisoformat(row["time"]),
        "celsius": float(row["celsius"]),
    }


def add_reading(acc, reading):
    """Running (sum, count) of a window."""
    total, count = acc
    return total + reading["celsius"], count + 1


def describe_window(sensor_window):
    """`(sensor, (window id, (sum, count)))` as a line of text."""
    sensor, (window_id, (total, count)) = sensor_window
    start = ALIGN_TO + window_id * WINDOW
    return f"{sensor} {start:%H:%M}: {total / count:.1f} °C over {count} readings"


flow = Dataflow("sensor_averages")
rows = op.input("readings", flow, CSVSource(READINGS))
readings = op.map("parse", rows, parse_reading)
by_sensor = op.key_on("by_sensor", readings, lambda reading: reading["sensor"])
windows = win.fold_window(
    "sum_per_minute",
    by_sensor,
    EventClock(lambda reading: reading["time"], wait_for_system_duration=timedelta(seconds=10)),
    TumblingWindower(length=WINDOW, align_to=ALIGN_TO),
    builder=lambda: (0.0, 0),
    folder=add_reading,
    merger=lambda a, b: (a[0] + b[0], a[1] + b[1]),
)
averages = op.map("describe", windows.down, describe_window)
op.output("print", averages, StdOutSink())
