"""Quota enforcement: rates measured over sampled windows and the throttle time they imply.

Kafka measures each client's usage with a `Sensor` over a `Rate` of `quota.window.num` (11)
samples of `quota.window.size.seconds` (1 s): a value is recorded into the current sample
(a new one starts when the current one is a window old), samples with no event for the whole
span are reset, and the rate is the sum of the samples divided by the time since the oldest
sample began, counted as at least ``samples - 1`` whole windows (so that a client's first
burst is not measured over a few milliseconds). When the rate is above the quota after a
record, the throttle time is the time it takes the rate to fall back to the quota:
``(rate - quota) / quota * window``, rounded (QuotaUtils.throttleTime).

`QuotaEnforcer` keeps one `Rate` per quota key and sharing entity (see
`kafkalite.broker.quotas.Applied`), on the broker clock, so that tests that advance the clock
see windows pass.
"""

from __future__ import annotations

from typing import Callable

import attrs

from kafkalite.broker.quotas import (
    CONSUMER_BYTE_RATE,
    PRODUCER_BYTE_RATE,
    REQUEST_PERCENTAGE,
    ClientQuotas,
)

QUOTA_WINDOW_NUM = 11
QUOTA_WINDOW_SIZE_MS = 1000


@attrs.define(eq=False)
class _Sample:
    start_ms: int
    last_event_ms: int
    value: float = 0.0

    def reset(self, now_ms: int) -> None:
        self.start_ms = self.last_event_ms = now_ms
        self.value = 0.0


@attrs.define(eq=False)
class Rate:
    """A per-second rate over *samples* windows of *window_ms*, as Kafka's `Rate` over a
    `SampledStat` (event windows unbounded). Times are milliseconds on any monotonic clock."""

    samples: int = QUOTA_WINDOW_NUM
    window_ms: int = QUOTA_WINDOW_SIZE_MS
    _samples: list[_Sample] = attrs.field(init=False, factory=list)
    _current: int = attrs.field(init=False, default=0)

    def record(self, value: float, now_ms: int) -> None:
        """Add *value* at *now_ms* (negative to take back a recorded value)."""
        sample = self._current_sample(now_ms)
        if now_ms - sample.start_ms >= self.window_ms:
            sample = self._advance(now_ms)
        sample.value += value
        sample.last_event_ms = now_ms

    def measure(self, now_ms: int) -> float:
        """The rate per second at *now_ms*."""
        self._purge(now_ms)
        total = sum(s.value for s in self._samples)
        return total / (self.window_size_ms(now_ms) / 1000.0)

    def window_size_ms(self, now_ms: int) -> int:
        """The span the rate is measured over: since the oldest sample began, at least
        ``samples - 1`` whole windows, at least 1 ms."""
        self._purge(now_ms)
        if not self._samples:
            self._samples.append(_Sample(now_ms, now_ms))
        elapsed = now_ms - min(s.start_ms for s in self._samples)
        full = elapsed // self.window_ms
        if full < self.samples - 1:
            elapsed += (self.samples - 1 - full) * self.window_ms
        return max(elapsed, 1)

    def _current_sample(self, now_ms: int) -> _Sample:
        if not self._samples:
            self._samples.append(_Sample(now_ms, now_ms))
        return self._samples[self._current]

    def _advance(self, now_ms: int) -> _Sample:
        # One more sample than the window count: the oldest may overlap the window's start.
        self._current = (self._current + 1) % (self.samples + 1)
        if self._current >= len(self._samples):
            sample = _Sample(now_ms, now_ms)
            self._samples.append(sample)
            return sample
        sample = self._samples[self._current]
        sample.reset(now_ms)
        return sample

    def _purge(self, now_ms: int) -> None:
        expire = self.samples * self.window_ms
        for sample in self._samples:
            if now_ms - sample.last_event_ms >= expire:
                sample.reset(now_ms)


def throttle_time_ms(rate: float, bound: float, window_size_ms: int) -> int:
    """How long until *rate* falls back to *bound*: Kafka's QuotaUtils.throttleTime (0 when
    the rate is within the bound)."""
    if rate <= bound:
        return 0
    # Java's Math.round: half up.
    return int((rate - bound) / bound * window_size_ms + 0.5)


#: Request time is recorded as a percentage of one thread's second (ClientRequestQuotaManager).
_NANOS_TO_PERCENTAGE = 100.0 / 1e9


@attrs.define(eq=False)
class QuotaEnforcer:
    """Records clients' usage against the quotas that apply and answers throttle times.

    *now_ms* reads the broker's monotonic clock in milliseconds.
    """

    quotas: ClientQuotas
    now_ms: Callable[[], int]
    samples: int = QUOTA_WINDOW_NUM
    window_ms: int = QUOTA_WINDOW_SIZE_MS
    #: (quota key, sharing user tag, sharing client tag) -> its rate.
    _rates: dict[tuple[str, str, str], Rate] = attrs.field(init=False, factory=dict)
    #: Throttle time handed out, by quota key.
    _throttled_ms: dict[str, int] = attrs.field(init=False, factory=dict)

    @property
    def active(self) -> bool:
        return self.quotas.active

    def record(self, key: str, user: str, client_id: str, value: float, max_ms: int | None = None) -> int:
        """Record *value* for the client against quota *key*; the throttle time in ms (0 when
        within the quota or when no quota applies), at most *max_ms* if given."""
        applied = self.quotas.applied(key, user, client_id)
        if applied is None:
            return 0
        now = self.now_ms()
        rate = self._rate(key, applied.share)
        rate.record(value, now)
        throttle = throttle_time_ms(rate.measure(now), applied.bound, rate.window_size_ms(now))
        if max_ms is not None:
            throttle = min(throttle, max_ms)
        if throttle:
            self._throttled_ms[key] = self._throttled_ms.get(key, 0) + throttle
        return throttle

    def unrecord(self, key: str, user: str, client_id: str, value: float) -> None:
        """Take back a recorded *value* (a throttled fetch returns nothing, as Kafka's
        ``unrecordQuotaSensor``)."""
        applied = self.quotas.applied(key, user, client_id)
        if applied is not None:
            self._rate(key, applied.share).record(-value, self.now_ms())

    def produce(self, user: str, client_id: str, request_bytes: int) -> int:
        return self.record(PRODUCER_BYTE_RATE, user, client_id, request_bytes)

    def fetch(self, user: str, client_id: str, response_bytes: int) -> int:
        return self.record(CONSUMER_BYTE_RATE, user, client_id, response_bytes)

    def request_time(self, user: str, client_id: str, elapsed_ns: int) -> int:
        # Kafka's ClientRequestQuotaManager: handler time as a percentage of one thread's
        # second, and a throttle of at most one window.
        return self.record(REQUEST_PERCENTAGE, user, client_id, elapsed_ns * _NANOS_TO_PERCENTAGE, self.window_ms)

    def throttled_ms(self) -> dict[str, int]:
        """Throttle time handed out so far, by quota key (for metrics and tests)."""
        return dict(self._throttled_ms)

    def reset(self) -> None:
        """Forget every rate (tests reuse a broker)."""
        self._rates.clear()
        self._throttled_ms.clear()

    def _rate(self, key: str, share: tuple[str, str]) -> Rate:
        rate = self._rates.get((key, *share))
        if rate is None:
            rate = self._rates[(key, *share)] = Rate(self.samples, self.window_ms)
        return rate
