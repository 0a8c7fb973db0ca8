from __future__ import annotations

import pytest

from kafkalite.storage import LogConfig


def test_from_topic_configs_reads_kafka_names_over_defaults():
    config = LogConfig.from_topic_configs(
        {
            "segment.bytes": "1048576",
            "segment.ms": "3600000",
            "retention.ms": "-1",
            "retention.bytes": "5000000",
            "index.interval.bytes": "100",
            "segment.index.bytes": "4096",
            "flush.messages": "10",
            "flush.ms": "1000",
            "cleanup.policy": "compact",
        }
    )
    assert config == LogConfig(
        segment_bytes=1048576, segment_ms=3600000, retention_ms=-1, retention_bytes=5000000,
        index_interval_bytes=100, segment_index_bytes=4096, flush_messages=10, flush_ms=1000,
        delete=False, compact=True,
    )


def test_from_topic_configs_long_max_flush_means_never_and_base_is_kept():
    base = LogConfig(fsync=True, retention_ms=5)
    config = LogConfig.from_topic_configs(
        {"flush.messages": "9223372036854775807", "flush.ms": "9223372036854775807"}, base=base
    )
    assert config == base
    assert LogConfig.from_topic_configs({}) == LogConfig()


@pytest.mark.parametrize(
    "configs", [{"segment.bytes": "x"}, {"retention.ms": "-2"}, {"segment.bytes": "3000000000"}]
)
def test_from_topic_configs_rejects_bad_values(configs):
    with pytest.raises(ValueError):
        LogConfig.from_topic_configs(configs)
