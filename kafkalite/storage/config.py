"""`LogConfig`: the topic configs one partition log acts on."""

from __future__ import annotations

import attrs
from attrs.validators import ge, instance_of, le, optional

__all__ = ["LogConfig"]

_LONG_MAX = 9223372036854775807


def _int_value(configs: dict[str, str], name: str, default: int) -> int:
    raw = configs.get(name)
    if raw is None:
        return default
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValueError(f"topic config {name}={raw!r} is not a number") from None


def _float_value(configs: dict[str, str], name: str, default: float) -> float:
    raw = configs.get(name)
    if raw is None:
        return default
    try:
        return float(str(raw).strip())
    except ValueError:
        raise ValueError(f"topic config {name}={raw!r} is not a number") from None


@attrs.frozen(kw_only=True)
class LogConfig:
    """Segment, index, retention and flush settings of one partition log (Kafka's names).

    ``retention_ms`` and ``retention_bytes`` of -1 mean unlimited. ``flush_messages`` and
    ``flush_ms`` of None never fsync on that trigger (Kafka's default of Long.MAX_VALUE);
    ``fsync`` True fsyncs the segment after every append (the ``--fsync`` broker option).
    Without any of them, appended data reaches the OS page cache on every append, which
    survives a kill -9 of the broker but not a power loss.
    """

    segment_bytes: int = attrs.field(default=1073741824, validator=[instance_of(int), ge(14)])
    segment_ms: int = attrs.field(default=604800000, validator=[instance_of(int), ge(1)])
    retention_ms: int = attrs.field(default=604800000, validator=[instance_of(int), ge(-1)])
    retention_bytes: int = attrs.field(default=-1, validator=[instance_of(int), ge(-1)])
    index_interval_bytes: int = attrs.field(default=4096, validator=[instance_of(int), ge(0)])
    segment_index_bytes: int = attrs.field(default=10485760, validator=[instance_of(int), ge(12)])
    flush_messages: int | None = attrs.field(
        default=None, validator=optional([instance_of(int), ge(1)])
    )
    flush_ms: int | None = attrs.field(default=None, validator=optional([instance_of(int), ge(0)]))
    fsync: bool = attrs.field(default=False, validator=instance_of(bool))
    #: cleanup.policy: "delete" applies retention.ms / retention.bytes, "compact" the cleaner.
    delete: bool = attrs.field(default=True, validator=instance_of(bool))
    compact: bool = attrs.field(default=False, validator=instance_of(bool))
    min_cleanable_dirty_ratio: float = attrs.field(default=0.5, validator=[ge(0.0), le(1.0)])
    min_compaction_lag_ms: int = attrs.field(default=0, validator=[instance_of(int), ge(0)])
    max_compaction_lag_ms: int = attrs.field(default=_LONG_MAX, validator=[instance_of(int), ge(1)])
    delete_retention_ms: int = attrs.field(default=86400000, validator=[instance_of(int), ge(0)])

    def __attrs_post_init__(self) -> None:
        if self.segment_bytes > 2**31 - 1:
            raise ValueError(
                f"segment_bytes {self.segment_bytes} does not fit the 4-byte positions of the "
                "offset index (at most 2147483647)"
            )

    @property
    def max_segment_ms(self) -> int:
        """When the active segment rolls by time: segment.ms, or max.compaction.lag.ms when
        smaller on a compacted log (as Kafka's LogConfig.maxSegmentMs), so that the cleaner,
        which never touches the active segment, can meet the lag."""
        if self.compact:
            return min(self.segment_ms, self.max_compaction_lag_ms)
        return self.segment_ms

    @property
    def durable(self) -> bool:
        """Whether appends are ever fsynced (``fsync``, ``flush_messages`` or ``flush_ms``);
        if so, indexes and checkpoints are written durably too."""
        return self.fsync or self.flush_messages is not None or self.flush_ms is not None

    @classmethod
    def from_topic_configs(
        cls, configs: dict[str, str], *, base: LogConfig | None = None
    ) -> LogConfig:
        """Build a config from Kafka topic configs (strings), over *base* (or the defaults).

        Reads ``segment.bytes``, ``segment.ms``, ``retention.ms``, ``retention.bytes``,
        ``index.interval.bytes``, ``segment.index.bytes``, ``flush.messages`` and
        ``flush.ms``, and the compaction ones (``cleanup.policy``,
        ``min.cleanable.dirty.ratio``, ``min.compaction.lag.ms``, ``max.compaction.lag.ms``,
        ``delete.retention.ms``); other names are ignored. A flush setting of Long.MAX_VALUE
        means never.

        Raises:
            ValueError: a value that is not a number or is out of range.
        """
        base = base or cls()
        flush_messages = _int_value(
            configs, "flush.messages", base.flush_messages if base.flush_messages else _LONG_MAX
        )
        raw_policy = configs.get("cleanup.policy")
        if raw_policy is None:
            policy = {name for name, on in (("delete", base.delete), ("compact", base.compact)) if on}
        else:
            policy = {part.strip() for part in str(raw_policy).split(",")}
        flush_ms = _int_value(configs, "flush.ms", _LONG_MAX if base.flush_ms is None else base.flush_ms)
        return cls(
            segment_bytes=_int_value(configs, "segment.bytes", base.segment_bytes),
            segment_ms=_int_value(configs, "segment.ms", base.segment_ms),
            retention_ms=_int_value(configs, "retention.ms", base.retention_ms),
            retention_bytes=_int_value(configs, "retention.bytes", base.retention_bytes),
            index_interval_bytes=_int_value(configs, "index.interval.bytes", base.index_interval_bytes),
            segment_index_bytes=_int_value(configs, "segment.index.bytes", base.segment_index_bytes),
            flush_messages=None if flush_messages >= _LONG_MAX else flush_messages,
            flush_ms=None if flush_ms >= _LONG_MAX else flush_ms,
            fsync=base.fsync,
            delete="delete" in policy,
            compact="compact" in policy,
            min_cleanable_dirty_ratio=_float_value(
                configs, "min.cleanable.dirty.ratio", base.min_cleanable_dirty_ratio
            ),
            min_compaction_lag_ms=_int_value(configs, "min.compaction.lag.ms", base.min_compaction_lag_ms),
            max_compaction_lag_ms=_int_value(configs, "max.compaction.lag.ms", base.max_compaction_lag_ms),
            delete_retention_ms=_int_value(configs, "delete.retention.ms", base.delete_retention_ms),
        )
