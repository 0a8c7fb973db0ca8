"""The log cleaner: compaction of ``cleanup.policy=compact`` logs, as Kafka's LogCleaner.

Which offsets may be cleaned (`to_clean`, Kafka's LogCleanerManager.cleanableOffsets): from
the first dirty offset (the cleaner checkpoint, or the log start offset) to the first
uncleanable one, the smallest of the active segment's base offset, the last stable offset,
and the first segment whose largest timestamp is within min.compaction.lag.ms of now. Here
the bound is always a segment's base offset (a segment holding the last stable offset is
left for a later pass). A log is cleaned (`needs_cleaning`) when its dirty ratio (dirty
bytes / all bytes before the bound) is above min.cleanable.dirty.ratio, or when its first
dirty segment's first batch is older than max.compaction.lag.ms.

How (`clean`, Kafka's Cleaner.doClean):

1. the offset map: the last offset of each key in the dirty segments, aborted transactions'
   records and control batches left out (Kafka's OffsetMap; here a dict of at most
   *max_keys* keys, filled segment by segment: a segment that would overflow it waits for the
   next pass);
2. every segment from the log start to the end of the map, in groups whose total size fits
   segment.bytes (and offsets an index), Kafka's groupSegmentsBySize, is rewritten into one
   ``.cleaned`` segment per group: a record is kept when its offset is the map's for its key
   (or its key is not in the map) and it is not a tombstone past its batch's delete horizon;
   records without a key go; batches of aborted transactions go; a batch whose records all
   go is dropped, unless it holds the last data of a producer still known to the broker
   (then its header stays, empty, so the producer's sequence and epoch survive, as Kafka's
   RETAIN_EMPTY); a transaction marker goes once no record of its transaction remains and
   its delete horizon has passed. A batch that keeps all its records and needs no horizon
   is copied byte for byte; another is rebuilt with the same base offset, last offset
   (so offsets keep their gaps), producer fields, attributes, codec and record headers;
3. the first time a batch holding a tombstone or a removable marker is cleaned it gets a
   delete horizon (now + delete.retention.ms; KIP-534: the batch's base timestamp, with the
   delete-horizon attribute bit): a tombstone survives until its segment was cleaned and
   delete.retention.ms has passed;
4. each group is swapped in crash-safely (`kafkalite.storage.swap`) and its indexes rebuilt;
   the cleaner checkpoint moves to the end of the map.

Nothing here is asynchronous; `clean` does one log. `write_cleaned` only reads closed segments
and writes ``.cleaned`` files, so a caller may run it in a worker thread while the log keeps
taking appends; `commit` then swaps, skipping any group whose segments changed meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import attrs

from kafkalite.storage.checkpoints import (
    CLEANER_CHECKPOINT,
    read_cleaner_offset,
    write_cleaner_offset,
)
from kafkalite.storage.segment import Segment, iter_file_batches
from kafkalite.storage.swap import cleaned_path
from kafkalite.storage.txn_index import AbortedTxn
from kafkalite.wire.batch import (
    BATCH_HEADER_SIZE,
    DELETE_HORIZON_MASK,
    TIMESTAMP_TYPE_MASK,
    BatchHeader,
    assemble_batch,
)
from kafkalite.wire.records import ControlRecordType, Record, build_batch, decode_records, parse_control_record

if TYPE_CHECKING:
    from kafkalite.storage.log import PartitionLog

__all__ = [
    "CLEANER_CHECKPOINT",
    "CleanResult",
    "Plan",
    "ProducerLast",
    "ToClean",
    "clean",
    "commit",
    "needs_cleaning",
    "read_cleaner_offset",
    "to_clean",
    "write_cleaned",
]

logger = logging.getLogger("kafkalite.storage.cleaner")

#: Kafka's default log.cleaner.dedupe.buffer.size (128 MiB) holds about 5 million keys.
DEFAULT_MAX_KEYS = 5_000_000


@attrs.frozen
class ProducerLast:
    """What the cleaner must keep of a producer the broker still knows (Kafka's LastRecord):
    the batch ending at *last_data_offset*, or, without one, its last marker of *epoch*."""

    last_data_offset: int | None
    epoch: int


@attrs.frozen
class ToClean:
    """Kafka's LogToClean: the dirty section [first_dirty_offset, first_uncleanable_offset)."""

    first_dirty_offset: int
    first_uncleanable_offset: int
    clean_bytes: int
    cleanable_bytes: int
    #: max.compaction.lag.ms has passed for the first dirty segment.
    compaction_due: bool

    @property
    def cleanable_ratio(self) -> float:
        total = self.clean_bytes + self.cleanable_bytes
        return self.cleanable_bytes / total if total else 0.0


@attrs.frozen
class CleanResult:
    bytes_read: int
    bytes_written: int
    batches_removed: int
    records_removed: int
    segments_before: int
    segments_after: int
    end_offset: int


# -- choosing ----------------------------------------------------------------------------


def to_clean(log: PartitionLog, now_ms: int, last_stable_offset: int) -> ToClean:
    """The dirty section of *log* (see the module docstring)."""
    segments = list(log.segments)
    config = log.config
    checkpoint = read_cleaner_offset(log.files, log.directory)
    first_dirty = log.log_start_offset if checkpoint is None else checkpoint
    if not log.log_start_offset <= first_dirty <= log.log_end_offset:
        first_dirty = log.log_start_offset
    bound = min(last_stable_offset, segments[-1].base_offset)
    uncleanable = segments[-1].base_offset
    for segment in segments[:-1]:
        if segment.next_offset > bound:  # holds the bound: left for later
            uncleanable = segment.base_offset
            break
        if (
            segment.base_offset >= first_dirty
            and config.min_compaction_lag_ms > 0
            and segment.largest_timestamp() > now_ms - config.min_compaction_lag_ms
        ):
            uncleanable = segment.base_offset
            break
    uncleanable = max(uncleanable, first_dirty)
    clean_bytes = sum(s.size for s in segments if s.next_offset <= first_dirty)
    dirty = [s for s in segments if first_dirty <= s.base_offset and s.next_offset <= uncleanable
             and s is not segments[-1]]
    cleanable_bytes = sum(s.size for s in dirty)
    due = False
    if config.max_compaction_lag_ms < 2**63 - 1:
        # Kafka's maxCompactionDelay: the first batch's timestamp of the oldest dirty segment.
        for s in dirty:
            first = _first_batch_timestamp(s)
            if first is not None:
                due = 0 <= first < now_ms - config.max_compaction_lag_ms
                break
    return ToClean(first_dirty, uncleanable, clean_bytes, cleanable_bytes, due)


def _first_batch_timestamp(segment: Segment) -> int | None:
    """The max timestamp of the segment's first batch (None when it has none)."""
    if segment.rolling_timestamp is not None:
        return segment.rolling_timestamp
    for _, header, _ in iter_file_batches(segment.log_file, 0, segment.size, check_crc=False):
        return header.max_timestamp
    return None


def needs_cleaning(log: PartitionLog, section: ToClean) -> bool:
    """Kafka's rule: dirty bytes, and a ratio above min.cleanable.dirty.ratio or a due lag."""
    if not log.config.compact or section.cleanable_bytes == 0:
        return False
    return section.compaction_due or section.cleanable_ratio > log.config.min_cleanable_dirty_ratio


# -- transactions while cleaning (Kafka's CleanedTransactionMetadata) --------------------


@attrs.define
class _Transactions:
    """Walks batches in offset order and says which belong to aborted transactions and
    which markers may go."""

    aborted: list[AbortedTxn]
    _next: int = 0
    #: producer id -> (aborted txn, whether a batch of it was seen in this pass).
    _ongoing_aborted: dict[int, list] = attrs.field(factory=dict)
    _ongoing_committed: set[int] = attrs.field(factory=set)
    #: Aborted transactions whose marker is kept, for the cleaned segment's .txnindex.
    kept_aborted: list[AbortedTxn] = attrs.field(factory=list)

    def _consume_up_to(self, offset: int) -> None:
        while self._next < len(self.aborted) and self.aborted[self._next].first_offset <= offset:
            txn = self.aborted[self._next]
            self._ongoing_aborted.setdefault(txn.producer_id, [txn, False])
            self._next += 1

    def on_batch(self, header: BatchHeader) -> bool:
        """Whether the data batch belongs to an aborted transaction (to discard)."""
        self._consume_up_to(header.last_offset)
        if not header.is_transactional:
            return False
        entry = self._ongoing_aborted.get(header.producer_id)
        if entry is not None:
            entry[1] = True
            return True
        self._ongoing_committed.add(header.producer_id)
        return False

    def on_marker(self, header: BatchHeader, kind: ControlRecordType | None) -> bool:
        """Whether the marker may be discarded: no batch of its transaction was seen."""
        self._consume_up_to(header.last_offset)
        pid = header.producer_id
        if kind == ControlRecordType.ABORT:
            entry = self._ongoing_aborted.pop(pid, None)
            if entry is not None and entry[1]:
                self.kept_aborted.append(entry[0])
                return False
            return True
        if kind == ControlRecordType.COMMIT:
            if pid in self._ongoing_committed:
                self._ongoing_committed.discard(pid)
                return False
            return True
        return False


def _marker_kind(view: memoryview) -> ControlRecordType | None:
    try:
        records = decode_records(view)
        return parse_control_record(records[0])[0] if records else None
    except Exception:  # not a transaction marker (another control record): kept
        return None


# -- the offset map ----------------------------------------------------------------------


def _build_map(
    log: PartitionLog, section: ToClean, aborted: list[AbortedTxn], max_keys: int,
    pause: Callable[[], None],
) -> tuple[dict[bytes, int], int]:
    """The offset map of the dirty section, and the offset after the last segment it covers."""
    keys: dict[bytes, int] = {}
    end = section.first_dirty_offset
    txns = _Transactions(aborted)
    for segment in log.segments:
        if segment.base_offset < section.first_dirty_offset:
            continue
        if segment.next_offset > section.first_uncleanable_offset or segment is log.segments.active:
            break
        found: dict[bytes, int] = {}
        for _, header, view in iter_file_batches(segment.log_file, 0, segment.size, check_crc=False):
            pause()
            if header.is_control:
                txns.on_marker(header, None)
                continue
            if txns.on_batch(header) or header.records_count == 0:
                continue
            for record in decode_records(view):
                if record.key is not None:
                    found[record.key] = header.base_offset + record.offset_delta
        if keys and len(keys.keys() | found.keys()) > max_keys:
            break
        keys.update(found)
        end = segment.next_offset
    return keys, end


# -- rewriting ---------------------------------------------------------------------------


@attrs.define
class _Stats:
    bytes_read: int = 0
    bytes_written: int = 0
    batches_removed: int = 0
    records_removed: int = 0


def _group_segments(segments: list[Segment], max_bytes: int, max_index_bytes: int) -> list[list[Segment]]:
    """Kafka's groupSegmentsBySize: consecutive segments whose sizes, index sizes and offset
    ranges fit one segment."""
    groups: list[list[Segment]] = []
    rest = list(segments)
    while rest:
        group = [rest.pop(0)]
        size = group[0].size
        index_size = len(group[0].offset_index) * 8
        time_size = len(group[0].time_index) * 12
        while rest:
            nxt = rest[0]
            if (
                size + nxt.size > max_bytes
                or index_size + len(nxt.offset_index) * 8 > max_index_bytes
                or time_size + len(nxt.time_index) * 12 > max_index_bytes
                or nxt.next_offset - 1 - group[0].base_offset > 2**31 - 1
            ):
                break
            group.append(rest.pop(0))
            size += nxt.size
            index_size += len(nxt.offset_index) * 8
            time_size += len(nxt.time_index) * 12
        groups.append(group)
    return groups


def _rebuild(
    header: BatchHeader, records: list[Record], horizon: int | None
) -> bytes:
    """The batch *header* with only *records*: same base and last offset, producer fields,
    attributes and codec; with *horizon*, the delete horizon set (base timestamp)."""
    attributes = header.attributes
    base_timestamp = header.base_timestamp
    if horizon is not None:
        attributes |= DELETE_HORIZON_MASK
        base_timestamp = horizon
    if not records:
        return assemble_batch(
            b"", base_offset=header.base_offset,
            partition_leader_epoch=header.partition_leader_epoch, attributes=attributes,
            last_offset_delta=header.last_offset_delta, base_timestamp=header.max_timestamp,
            max_timestamp=header.max_timestamp, producer_id=header.producer_id,
            producer_epoch=header.producer_epoch, base_sequence=header.base_sequence,
            records_count=0,
        )
    shift = header.base_timestamp - base_timestamp
    moved = [attrs.evolve(r, timestamp_delta=r.timestamp_delta + shift) for r in records]
    built = build_batch(
        moved, base_offset=header.base_offset, base_timestamp=base_timestamp,
        compression=header.compression,
    )
    if attributes & TIMESTAMP_TYPE_MASK:
        max_timestamp = header.max_timestamp
    else:
        max_timestamp = max(header.base_timestamp + r.timestamp_delta for r in records)
    return assemble_batch(
        memoryview(built)[BATCH_HEADER_SIZE:], base_offset=header.base_offset,
        partition_leader_epoch=header.partition_leader_epoch, attributes=attributes,
        last_offset_delta=header.last_offset_delta, base_timestamp=base_timestamp,
        max_timestamp=max_timestamp, producer_id=header.producer_id,
        producer_epoch=header.producer_epoch, base_sequence=header.base_sequence,
        records_count=len(records),
    )


def _horizon_of(header: BatchHeader) -> int | None:
    return header.base_timestamp if header.attributes & DELETE_HORIZON_MASK else None


def _clean_batch(
    header: BatchHeader, view: memoryview, keys: Mapping[bytes, int], txns: _Transactions,
    producers: Mapping[int, ProducerLast], now_ms: int, delete_retention_ms: int, stats: _Stats,
) -> bytes | memoryview | None:
    """What of one batch goes into the cleaned segment (None: nothing)."""
    horizon = _horizon_of(header)
    last = producers.get(header.producer_id) if header.producer_id >= 0 else None
    last_of_producer = last is not None and (
        header.last_offset == last.last_data_offset
        if last.last_data_offset is not None
        else header.is_control and header.producer_epoch == last.epoch
    )
    if header.is_control:
        can_discard = txns.on_marker(header, _marker_kind(view))
        if can_discard and horizon is not None and horizon <= now_ms and not last_of_producer:
            stats.batches_removed += 1
            return None
        if can_discard and horizon is None:
            return _rebuild(header, decode_records(view), now_ms + delete_retention_ms)
        return view
    if txns.on_batch(header):  # an aborted transaction's data
        stats.batches_removed += 1
        stats.records_removed += header.records_count
        if last_of_producer:
            return _rebuild(header, [], None)
        return None
    records = decode_records(view) if header.records_count else []
    kept = []
    tombstones = False
    for record in records:
        if record.key is None:
            continue
        offset = header.base_offset + record.offset_delta
        if offset < keys.get(record.key, -1):
            continue
        if record.value is None:
            if horizon is not None and now_ms >= horizon:
                continue
            tombstones = True
        kept.append(record)
    stats.records_removed += len(records) - len(kept)
    if not kept and not last_of_producer:
        stats.batches_removed += 1
        return None
    set_horizon = tombstones and horizon is None
    if len(kept) == len(records) and not set_horizon:
        return view
    return _rebuild(header, kept, now_ms + delete_retention_ms if set_horizon else horizon)


@attrs.frozen
class _Cleaned:
    group: list[Segment]
    kept_aborted: list[AbortedTxn]


@attrs.frozen
class Plan:
    section: ToClean
    end_offset: int
    groups: list[_Cleaned]
    stats: _Stats


def write_cleaned(
    log: PartitionLog, section: ToClean, *, now_ms: int,
    producers: Mapping[int, ProducerLast], max_keys: int = DEFAULT_MAX_KEYS, force: bool = False,
    pause: Callable[[], None] = lambda: None,
) -> Plan | None:
    """Build the offset map and write one ``.cleaned`` file per group (steps 1 to 3 of the
    module docstring). Reads only closed segments. None when the map covers nothing, unless
    *force*: then the clean segments are cleaned again (tombstones and markers past their
    delete horizon go; what a pass of Kafka's cleaner chosen with nothing dirty does).
    *pause* is called before each batch (in a worker thread, ``time.sleep(0)`` hands the
    interpreter to the broker's loop often, which keeps produce latency low). Raises OSError."""
    segments = list(log.segments)[:-1]
    aborted = log.segments.collect_aborted_txns(log.log_start_offset, section.first_uncleanable_offset)
    dirty_aborted = [a for a in aborted if a.last_offset >= section.first_dirty_offset]
    keys, end = _build_map(log, section, dirty_aborted, max_keys, pause)
    to_rewrite = [s for s in segments if s.next_offset <= end]
    if end <= section.first_dirty_offset and not (force and to_rewrite):
        return None
    config = log.config
    txns = _Transactions(aborted)
    stats = _Stats()
    groups = []
    for group in _group_segments(to_rewrite, config.segment_bytes, config.segment_index_bytes):
        path = cleaned_path(log.directory, group[0].base_offset)
        log.files.remove(path)
        out = log.files.open(path)
        try:
            before = len(txns.kept_aborted)
            for segment in group:
                stats.bytes_read += segment.size
                for _, header, view in iter_file_batches(
                    segment.log_file, 0, segment.size, check_crc=False
                ):
                    pause()
                    kept = _clean_batch(
                        header, view, keys, txns, producers, now_ms,
                        config.delete_retention_ms, stats,
                    )
                    if kept is not None:
                        out.append([kept])
                        stats.bytes_written += len(kept)
            if config.durable:
                out.fsync()
        finally:
            out.close()
        groups.append(_Cleaned(group, txns.kept_aborted[before:]))
    return Plan(section, end, groups, stats)


def commit(log: PartitionLog, plan: Plan) -> CleanResult:
    """Swap the cleaned groups in (step 4), each only if its segments are still the log's;
    move the cleaner checkpoint. Raises OSError."""
    before = log.segment_count
    for cleaned in plan.groups:
        if not log.holds_segments(cleaned.group):
            log.files.remove(cleaned_path(log.directory, cleaned.group[0].base_offset))
            continue
        log.swap_cleaned(cleaned.group, cleaned.kept_aborted)
    write_cleaner_offset(log.files, log.directory, plan.end_offset, durable=log.config.durable)
    s = plan.stats
    return CleanResult(
        s.bytes_read, s.bytes_written, s.batches_removed, s.records_removed, before,
        log.segment_count, plan.end_offset,
    )


def clean(
    log: PartitionLog, *, now_ms: int, last_stable_offset: int,
    producers: Mapping[int, ProducerLast], max_keys: int = DEFAULT_MAX_KEYS, force: bool = False,
) -> CleanResult | None:
    """Clean *log* now if it needs it (or whatever its ratio, with *force*); None if not."""
    section = to_clean(log, now_ms, last_stable_offset)
    if not (needs_cleaning(log, section) or force and log.config.compact):
        return None
    plan = write_cleaned(
        log, section, now_ms=now_ms, producers=producers, max_keys=max_keys, force=force
    )
    if plan is None:
        return None
    result = commit(log, plan)
    logger.info(
        "%s: cleaned offsets up to %d: %d bytes read, %d written, %d records and %d batches "
        "removed, %d segments now %d", log.directory, result.end_offset, result.bytes_read,
        result.bytes_written, result.records_removed, result.batches_removed,
        result.segments_before, result.segments_after,
    )
    return result

