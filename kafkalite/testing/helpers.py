"""The test helpers of `BrokerThread`: topics, records, committed offsets, lag and groups.

Each helper works on the broker's state directly, in the broker's thread: the methods of
`BrokerHelpers` hand their work to the broker's trio loop (`BrokerThread.call`) and the
calling thread blocks until it is done. That work is written as functions of the `Broker`
(`read_records`, `committed_offset`, `group_info` ...), which must run in the broker's
thread; the waits of `kafkalite.testing.waits` re-check their conditions with them.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence, Union

import attrs

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker

Bytesish = Union[bytes, bytearray, str, None]


@attrs.frozen
class ConsumedRecord:
    """A record as the helpers read it from the log."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


@attrs.frozen
class TransactionInfo:
    """A transactional id as kafka-transactions describes it."""

    transactional_id: str
    state: str  # Kafka's name: "Empty", "Ongoing", "CompleteCommit", ...
    producer_id: int
    producer_epoch: int
    #: (topic, partition) of the open transaction; empty when none is open.
    partitions: tuple[tuple[str, int], ...]


@attrs.frozen
class MemberInfo:
    member_id: str
    client_id: str
    client_host: str
    group_instance_id: str | None
    #: topic -> partitions, decoded from the consumer protocol assignment ({} if none yet).
    assignment: Mapping[str, tuple[int, ...]]


@attrs.frozen
class GroupInfo:
    group_id: str
    state: str  # Kafka's names: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead
    generation_id: int
    protocol_type: str
    protocol_name: str
    leader_id: str
    members: tuple[MemberInfo, ...]

    def assignment(self) -> dict[tuple[str, int], str]:
        """(topic, partition) -> member id of every assigned partition."""
        return {
            (topic, p): m.member_id
            for m in self.members
            for topic, partitions in m.assignment.items()
            for p in partitions
        }


def _as_bytes(value: Bytesish) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


class BrokerHelpers:
    """The helper methods of `BrokerThread`, mixed into it: it provides ``broker``, ``call``
    and the round-robin counters of `produce` (``_round_robin``, emptied by a reset)."""

    # -- topics --------------------------------------------------------------------------

    def create_topic(
        self,
        name: str,
        partitions: int | None = None,
        *,
        replication_factor: int | None = None,
        configs: Mapping[str, str] | None = None,
        exist_ok: bool = False,
    ) -> None:
        """Create topic *name* (*partitions* defaults to the broker's num_partitions,
        *replication_factor* to its default.replication.factor).

        Raises:
            kafkalite.cluster.TopicError: the name is invalid, or it exists and not *exist_ok*.
        """
        def create() -> None:
            if exist_ok and self.broker.cluster.topic(name) is not None:
                return
            self.broker.create_topic(name, partitions or -1, replication_factor or -1, configs=dict(configs or {}))

        self.call(create)

    def set_replication_delay(
        self, node_id: int | None = None, topic: str | None = None, partition: int | None = None,
        *, delay_ms: int,
    ) -> None:
        """Make followers (of broker *node_id*, of *topic* / *partition*; None: all) copy
        their leaders' new batches only *delay_ms* of the broker clock after they see them,
        so that they lag (and, past replica.lag.time.max.ms, leave the ISR); 0 lifts the
        rule. See `ReplicaManager.set_delay`."""
        self.call(lambda: self.broker.replicas.set_delay(node_id, topic, partition, delay_ms))

    def delete_topic(self, name: str) -> None:
        self.call(self.broker.delete_topic, name)

    def compact(self, topic: str) -> int:
        """Run the log cleaner on every partition of *topic* now and return when it is done;
        return the number of records it removed. The active segment is rolled first, so
        everything produced before the call is compacted (what min.compaction.lag.ms and open
        transactions hold back excepted); the dirty ratio is not looked at."""
        from kafkalite.broker.cleaning import compact_topic

        def compact() -> int:
            topic_of(self.broker, topic)  # an unknown topic raises KeyError
            return sum(result.records_removed for result in compact_topic(self.broker, topic))

        return self.call(compact)

    def topics(self) -> dict[str, int]:
        """Every topic but the internal ones, with its partition count."""

        def read() -> dict[str, int]:
            return {
                t.name: len(t.partitions)
                for t in self.broker.cluster.topics.values()
                if not t.is_internal
            }

        return self.call(read)

    def end_offsets(self, topic: str) -> dict[int, int]:
        """partition -> high watermark (the offset the next record gets)."""

        def read() -> dict[int, int]:
            broker = self.broker
            t = topic_of(broker, topic)
            return {p.partition_index: log_of(broker, topic, p.partition_index).high_watermark for p in t.partitions}

        return self.call(read)

    # -- records -------------------------------------------------------------------------

    def produce(
        self,
        topic: str,
        value: Bytesish = None,
        *,
        key: Bytesish = None,
        partition: int | None = None,
        headers: Mapping[str, Bytesish] | Sequence[tuple[str, Bytesish]] | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, int]:
        """Append one record (str is encoded as UTF-8); return its (partition, offset).

        The partition is *partition*, else murmur2 of the key (Kafka's default partitioner,
        as the Java client and kafka-python), else round robin. A missing topic is created
        when auto-creation is on, as a client's produce would.
        """
        partition_, offsets = self.produce_batch(
            topic, [(key, value)], partition=partition, headers=headers, timestamp=timestamp
        )
        return partition_, offsets[0]

    def produce_batch(
        self,
        topic: str,
        records: Iterable[tuple[Bytesish, Bytesish]] | Iterable[Bytesish],
        *,
        partition: int | None = None,
        headers: Mapping[str, Bytesish] | Sequence[tuple[str, Bytesish]] | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, list[int]]:
        """Append *records* (values, or (key, value) pairs) as one batch to one partition.

        The partition is chosen as in `produce`, from the first record's key. Returns the
        partition and the offsets of the records, in order.
        """
        from kafkalite.wire.records import NewRecord

        items = []
        header_list = list(headers.items()) if isinstance(headers, Mapping) else list(headers or ())
        encoded_headers = tuple((k, _as_bytes(v)) for k, v in header_list)
        for item in records:
            if isinstance(item, tuple):
                key, value = item
            else:
                key, value = None, item
            items.append(NewRecord(_as_bytes(key), _as_bytes(value), encoded_headers, timestamp))
        if not items:
            raise ValueError("no records to produce")
        return self.call(self._append, topic, items, partition)

    def _append(self, topic: str, items: list[Any], partition: int | None) -> tuple[int, list[int]]:
        from kafkalite.tools.partitioner import partition_for_key
        from kafkalite.wire.records import build_batch

        broker = self.broker
        t = broker.cluster.topic(topic)
        if t is None:
            if not broker.config.auto_create_topics:
                raise KeyError(f"topic {topic!r} does not exist (and auto-creation is off)")
            t = broker.create_topic(topic)
        count = len(t.partitions)
        if partition is None:
            key = items[0].key
            if key is not None:
                partition = partition_for_key(key, count)
            else:
                partition = next(self._round_robin.setdefault(topic, itertools.count())) % count
        if not 0 <= partition < count:
            raise KeyError(f"topic {topic!r} has {count} partition(s), no partition {partition}")
        info = broker.append(topic, partition, build_batch(items))
        return partition, list(range(info.base_offset, info.last_offset + 1))

    def records(self, topic: str, partition: int | None = None, *, committed: bool = False) -> list[ConsumedRecord]:
        """Every record of *topic* (or of one partition) up to the high watermark, ordered
        by partition, then offset. Control records (transaction markers) are left out.

        With *committed*, what a ``read_committed`` consumer sees: records up to the last
        stable offset (none of an open transaction), and none of an aborted one.
        """
        return self.call(lambda: read_records(self.broker, topic, partition, committed=committed))

    def values(self, topic: str, partition: int | None = None, *, committed: bool = False) -> list[bytes | None]:
        """The values of `records`, a shorthand for assertions."""
        return [r.value for r in self.records(topic, partition, committed=committed)]

    # -- transactions --------------------------------------------------------------------

    def transactions(self, *states: str) -> list[TransactionInfo]:
        """Every transactional id the broker knows (or those in *states*, Kafka's names:
        "Ongoing", "CompleteCommit", ...), as kafka-transactions describes them."""
        return self.call(lambda: transaction_infos(self.broker, states))

    def open_transactions(self) -> list[TransactionInfo]:
        """The transactions not yet committed or aborted."""
        return self.transactions("Ongoing", "PrepareCommit", "PrepareAbort", "PrepareEpochFence")

    # -- groups --------------------------------------------------------------------------

    def committed(self, group: str, topic: str, partition: int = 0) -> int | None:
        """The offset *group* committed for the partition, or None."""
        return self.call(lambda: committed_offset(self.broker, group, topic, partition))

    def lag(self, group: str, topic: str) -> dict[int, int]:
        """partition -> high watermark minus committed offset (all of it when none)."""

        def read() -> dict[int, int]:
            broker = self.broker
            t = topic_of(broker, topic)
            result = {}
            for p in t.partitions:
                end = log_of(broker, topic, p.partition_index).high_watermark
                committed = committed_offset(broker, group, topic, p.partition_index)
                result[p.partition_index] = end - (committed if committed is not None else 0)
            return result

        return self.call(read)

    def group(self, group_id: str) -> GroupInfo | None:
        """The group as DescribeGroups would show it, assignments decoded; None if unknown."""
        return self.call(lambda: group_info(self.broker, group_id))

    def groups(self) -> list[str]:
        return self.call(lambda: sorted(g.group_id for g in self.broker.groups.list_groups()))


def topic_of(broker: Broker, topic: str) -> Any:
    """The broker's *topic*; KeyError if it does not exist."""
    t = broker.cluster.topic(topic)
    if t is None:
        raise KeyError(f"topic {topic!r} does not exist")
    return t


def log_of(broker: Broker, topic: str, partition: int) -> Any:
    """The `PartitionLog` of *topic*-*partition*; KeyError if there is none."""
    plog = broker.log_for(topic, partition)
    if plog is None:
        raise KeyError(f"topic {topic!r} has no partition {partition}")
    return plog


def read_records(broker: Broker, topic: str, partition: int | None, *, committed: bool = False) -> list[ConsumedRecord]:
    """See `BrokerHelpers.records`."""
    from kafkalite.wire.records import decode_records, record_timestamp

    t = topic_of(broker, topic)
    indexes = [p.partition_index for p in t.partitions] if partition is None else [partition]
    result = []
    for index in indexes:
        plog = log_of(broker, topic, index)
        hw = plog.high_watermark
        aborted: list[Any] = []
        if committed:
            hw = broker.producers.last_stable_offset(topic, index, hw)
            aborted = plog.collect_aborted_txns(plog.log_start_offset, hw)
        for header, view in plog.batches_from(plog.log_start_offset):
            if header.base_offset >= hw:
                break
            if header.is_control:
                continue
            if header.is_transactional and any(
                a.producer_id == header.producer_id and a.first_offset <= header.base_offset <= a.last_offset
                for a in aborted
            ):
                continue
            for record in decode_records(view):
                offset = header.base_offset + record.offset_delta
                if offset < plog.log_start_offset or offset >= hw:
                    continue
                result.append(
                    ConsumedRecord(
                        topic,
                        index,
                        offset,
                        record_timestamp(header, record),
                        record.key,
                        record.value,
                        record.headers,
                    )
                )
    return result


def transaction_infos(broker: Broker, states: Iterable[str] = ()) -> list[TransactionInfo]:
    """See `BrokerHelpers.transactions`."""
    if broker.cluster.topic("__transaction_state") is None:
        return []  # no transaction ever: do not create the topic just to look
    coordinator = broker.transactions
    result = []
    for listing in coordinator.list_transactions(states).transactions:
        d = coordinator.describe(listing.transactional_id)
        result.append(
            TransactionInfo(
                d.transactional_id,
                d.state_name,
                d.producer_id,
                d.producer_epoch,
                tuple((topic, p) for topic, ps in d.topics for p in ps),
            )
        )
    return sorted(result, key=lambda t: t.transactional_id)


def committed_offset(broker: Broker, group: str, topic: str, partition: int) -> int | None:
    """See `BrokerHelpers.committed`."""
    g = broker.groups.group(group)
    if g is None:
        return None
    o = g.offsets.get((topic, partition))
    return None if o is None else o.committed_offset


def group_info(broker: Broker, group_id: str) -> GroupInfo | None:
    """See `BrokerHelpers.group`."""
    from kafkalite.groups.consumer_protocol import ConsumerProtocolError, assigned_partitions

    g = broker.groups.group(group_id)
    if g is None:
        return None
    members = []
    for m in g.members.values():
        assignment: dict[str, tuple[int, ...]] = {}
        if m.assignment and g.protocol_type == "consumer":
            with contextlib.suppress(ConsumerProtocolError):  # not the consumer protocol after all
                assignment = {t: tuple(ps) for t, ps in assigned_partitions(m.assignment).items()}
        members.append(MemberInfo(m.member_id, m.client_id, m.client_host, m.group_instance_id, assignment))
    return GroupInfo(
        g.group_id,
        g.state.value,
        g.generation_id,
        g.protocol_type or "",
        g.protocol_name or "",
        g.leader_id or "",
        tuple(members),
    )
