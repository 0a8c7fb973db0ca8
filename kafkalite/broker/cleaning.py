"""The broker's log cleaner: which logs to compact, when, and with what producer state.

Kafka's LogCleaner thread, on trio: every ``log_cleaner_backoff_ms`` (Kafka's
log.cleaner.backoff.ms, 15 s; kafkalite's default 2 s) of the broker's clock (a test's
advance past it starts the next pass at once; compaction lag and the delete horizon of
tombstones are measured on it too) it compacts, filthiest first, every
log of a ``cleanup.policy=compact`` topic (internal ones included: ``__consumer_offsets``
and ``__transaction_state``) that `kafkalite.storage.cleaner.needs_cleaning` picks. The
heavy part (the offset map and the ``.cleaned`` files) runs in a worker thread, reading only
closed segments, while produce and fetch go on; the swap then runs in the broker's loop, so
no request ever sees a half-swapped log, and a group whose segments changed meanwhile (a
retention, a deleted topic) is dropped. `compact_topic` does the same at once, for a test.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import trio

from kafkalite.storage import KafkaStorageError, PartitionLog
from kafkalite.storage.cleaner import (
    CleanResult,
    ProducerLast,
    ToClean,
    commit,
    needs_cleaning,
    to_clean,
    write_cleaned,
)

#: The `kafkalite.broker.state.Broker` (which starts the cleaner, so is not imported here):
#: its ``store``, ``producers``, ``config`` and ``clock`` are used.
Broker = Any

__all__ = ["compact_topic", "run_cleaner"]

logger = logging.getLogger("kafkalite.cleaner")


_last_yield = [0.0]


def _yield_gil() -> None:
    """Every millisecond of work, let the broker's loop run for a moment (the worker would
    otherwise hold the GIL for 5 ms at a time, the interpreter's switch interval). Real
    time: this paces CPU, not a broker rule."""
    now = time.perf_counter()
    if now - _last_yield[0] > 0.001:
        time.sleep(0.0002)
        _last_yield[0] = time.perf_counter()


def _producers(broker: Broker, topic: str, partition: int) -> dict[int, ProducerLast]:
    return {
        pid: ProducerLast(last, epoch)
        for pid, (last, epoch) in broker.producers.last_records(topic, partition).items()
    }


def _section(broker: Broker, topic: str, partition: int, log: PartitionLog, now: int) -> ToClean:
    lso = broker.producers.last_stable_offset(topic, partition, log.high_watermark)
    return to_clean(log, now, lso)


def _compacted_logs(broker: Broker) -> list[tuple[str, int, PartitionLog]]:
    return [
        (topic, partition, log)
        for _node, topic, partition, log in broker.replicas.nodes.all_logs()
        if log.config.compact
    ]


def compact_topic(broker: Broker, topic: str, *, now_ms: int | None = None) -> list[CleanResult]:
    """Compact every partition of *topic* now, whatever its dirty ratio, clean segments
    included (tombstones past their delete horizon go even with nothing new): the active
    segment is rolled first, so everything written before the call can be cleaned
    (min.compaction.lag.ms and open transactions still hold back what they hold back). Runs
    in the broker's loop.

    Raises:
        KafkaStorageError: a file could not be read or written.
    """
    now = broker.clock.wall_ms() if now_ms is None else now_ms
    results = []
    for name, partition, log in _compacted_logs(broker):
        if name != topic:
            continue
        log.roll(now)
        section = _section(broker, name, partition, log, now)
        try:
            plan = write_cleaned(
                log, section, now_ms=now, producers=_producers(broker, name, partition), force=True
            )
            result = None if plan is None else commit(log, plan)
        except OSError as exc:
            raise KafkaStorageError(f"{log.directory}: cleaning failed: {exc}") from exc
        if result is not None and log is broker.log_for(name, partition):
            results.append(result)  # every copy is cleaned; the leader's is the answer
    return results


async def _clean_one(broker: Broker, topic: str, partition: int, log: PartitionLog, section: ToClean) -> None:
    now = broker.clock.wall_ms()
    producers = _producers(broker, topic, partition)
    # Abandoned on shutdown: a .cleaned file left half-written is removed at the next start.
    plan = await trio.to_thread.run_sync(
        lambda: write_cleaned(log, section, now_ms=now, producers=producers, pause=_yield_gil),
        abandon_on_cancel=True,
    )
    if plan is None or log not in broker.replicas.logs_of(topic, partition):
        return
    result = commit(log, plan)
    logger.info(
        "%s-%d: cleaned up to offset %d: %d bytes read, %d written, %d records removed; %d "
        "segment(s) now %d", topic, partition, result.end_offset, result.bytes_read,
        result.bytes_written, result.records_removed, result.segments_before,
        result.segments_after,
    )


async def run_cleaner(broker: Broker) -> None:
    """The cleaner loop (see the module docstring). A log that fails to clean is logged
    and left alone until the broker restarts (Kafka's uncleanable partitions)."""
    interval = broker.config.log_cleaner_backoff_ms / 1000
    uncleanable: set[tuple[str, int]] = set()
    while True:
        with broker.clock.move_on_after(interval):
            await trio.sleep_forever()
        now = broker.clock.wall_ms()
        candidates = []
        for topic, partition, log in _compacted_logs(broker):
            if (topic, partition) in uncleanable:
                continue
            section = _section(broker, topic, partition, log, now)
            if needs_cleaning(log, section):
                candidates.append((section.cleanable_ratio, topic, partition, log, section))
        for _, topic, partition, log, section in sorted(candidates, key=lambda c: -c[0]):
            bases = log.segment_base_offsets
            try:
                await _clean_one(broker, topic, partition, log, section)
            except (OSError, KafkaStorageError, ValueError) as exc:
                # A log deleted (ValueError: closed) or whose oldest segments retention or
                # DeleteRecords removed under the worker is no failure: the next pass sees
                # the log as it is now.
                changed = log.segment_base_offsets[: len(bases) - 1] != bases[:-1]
                if log in broker.replicas.logs_of(topic, partition) and not changed:
                    uncleanable.add((topic, partition))
                    logger.error("%s-%d: cleaning failed, partition left uncleanable: %s", topic, partition, exc)
