"""Kafka's coordinator partition of a key: ``Utils.abs(key.hashCode()) % partitions``.

A group id (in ``__consumer_offsets``) and a transactional id (in ``__transaction_state``)
are mapped to a partition of their coordinator's internal topic by Java's
``String.hashCode()``, so that kafkalite and Kafka place every key in the same partition.
"""

from __future__ import annotations

import functools


def java_string_hash(s: str) -> int:
    """Java's ``String.hashCode()``: 31-polynomial over UTF-16 code units, in 32 bits."""
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


@functools.lru_cache(maxsize=4096)
def coordinator_partition(key: str, partitions: int) -> int:
    """``Utils.abs(key.hashCode()) % partitions``; ``Utils.abs`` maps Integer.MIN_VALUE to 0
    (Java's ``Math.abs`` would leave it negative). Cached: every request of a group or a
    transaction asks again."""
    h = java_string_hash(key)
    return (0 if h == -(1 << 31) else abs(h)) % partitions
