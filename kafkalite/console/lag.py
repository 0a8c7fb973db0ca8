"""Lag over time: a bounded ring of samples per group, taken on a timer, drawn as SVG.

`LagSamples.run` samples every group's total lag (`kafkalite.console.facts.group_lags`)
every `interval_s` seconds of the broker's clock (a test's clock advance takes samples
sooner), keeping the last `capacity` samples of each group and forgetting groups that are
gone. It runs while the HTTP port is on. A sample is one cheap pass over the committed
offsets; nothing waits on broker state.

`lag_chart` draws one group's samples as a small SVG line chart, server side (no script).
"""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING, Iterable

import trio

from kafkalite.console.facts import group_lags
from kafkalite.console.html import Markup, esc, tag

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker

log = logging.getLogger("kafkalite.console")

#: Samples kept per group, and seconds between two: ten minutes of history.
DEFAULT_CAPACITY = 120
DEFAULT_INTERVAL_S = 5.0


class LagSamples:
    """(broker wall time ms, total lag) of each group, the newest `capacity` ones."""

    def __init__(self, broker: Broker | None, capacity: int = DEFAULT_CAPACITY,
                 interval_s: float = DEFAULT_INTERVAL_S) -> None:
        if capacity < 2:
            raise ValueError(f"capacity must be at least 2 samples, not {capacity}")
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, not {interval_s}")
        self.broker = broker
        self.capacity = capacity
        self.interval_s = interval_s
        self._rings: dict[str, collections.deque[tuple[int, int]]] = {}

    def samples(self, group_id: str) -> list[tuple[int, int]]:
        """The group's samples, oldest first (empty when none was taken)."""
        return list(self._rings.get(group_id, ()))

    def record(self, now_ms: int, lags: dict[str, int]) -> None:
        """Add one sample per group of *lags*; groups not in it are forgotten."""
        for gone in set(self._rings) - set(lags):
            del self._rings[gone]
        for group_id, lag in lags.items():
            ring = self._rings.get(group_id)
            if ring is None:
                ring = self._rings[group_id] = collections.deque(maxlen=self.capacity)
            ring.append((now_ms, lag))

    def sample(self) -> None:
        """Take one sample of every group now."""
        assert self.broker is not None, "sampling needs a broker"
        self.record(self.broker.clock.wall_ms(), group_lags(self.broker))

    async def run(self) -> None:
        """Sample now and then every `interval_s` of the broker clock, until cancelled. A
        sample that fails is logged and skipped: the chart must never take the broker down."""
        assert self.broker is not None, "sampling needs a broker"
        while True:
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a bug of ours, logged; the next sample may work
                log.exception("console: the lag sample failed")
            with self.broker.clock.move_on_after(self.interval_s):
                await trio.sleep_forever()


#: The chart's size in CSS pixels, and the room kept for the axis labels.
WIDTH, HEIGHT = 480, 140
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 8, 10, 22


def lag_chart(samples: Iterable[tuple[int, int]], title: str) -> Markup:
    """An SVG line chart of (time ms, lag) *samples*, with the lag axis from 0 (or the lowest
    lag, when negative) to the largest, and the time span below; a sentence instead when
    there are fewer than two."""
    points = list(samples)
    if len(points) < 2:
        return tag("p", "Not enough samples yet for a chart: the console samples each group's lag "
                        "every few seconds while it runs.", class_="muted")
    t0, t1 = points[0][0], points[-1][0]
    top = max(lag for _t, lag in points)
    bottom = min(0, min(lag for _t, lag in points))  # a lag is negative past the log end
    top = top if top > bottom else bottom + 1
    span_t = max(t1 - t0, 1)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM

    def xy(t: int, lag: int) -> str:
        x = _LEFT + (t - t0) * plot_w / span_t
        y = _TOP + plot_h - (lag - bottom) * plot_h / (top - bottom)
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(t, lag) for t, lag in points)
    seconds = (t1 - t0) / 1000
    parts = [
        tag("title", title),
        Markup(f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{WIDTH - _RIGHT}" y2="{_TOP + plot_h}" class="axis"/>'),
        Markup(f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + plot_h}" class="axis"/>'),
        Markup(f'<text x="{_LEFT - 6}" y="{_TOP + 4}" text-anchor="end">{esc(top)}</text>'),
        Markup(f'<text x="{_LEFT - 6}" y="{_TOP + plot_h}" text-anchor="end">{esc(bottom)}</text>'),
        Markup(f'<text x="{_LEFT}" y="{HEIGHT - 4}">{esc(f"-{seconds:.0f} s")}</text>'),
        Markup(f'<text x="{WIDTH - _RIGHT}" y="{HEIGHT - 4}" text-anchor="end">now</text>'),
        Markup(f'<polyline points="{line}" class="series"/>'),
    ]
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="{esc(title)}">' + "".join(parts) + "</svg>"
    )
