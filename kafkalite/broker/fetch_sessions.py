"""Incremental fetch sessions (KIP-227), following the rules of Kafka's FetchSession.scala.

A session remembers, for one fetcher, the partitions it fetches and what it last told the
fetcher about each (high watermark, log start offset, last stable offset). A request for
the session then names only the partitions whose fetch parameters changed, and the response
carries only the partitions with news.

The rules (Kafka's):

* epoch 0 is a full request: it replaces the session named by its id (if any) by a new one,
  made when the cache has room or an entry can be evicted; the response carries its id (0:
  no session, the fetcher keeps sending full requests). The first incremental request then
  carries epoch 1; each later one the next epoch (after 2**31-1 comes 1).
* epoch -1 with an id closes that session; with or without one, the request is answered as
  a sessionless full fetch.
* any other epoch is incremental: an unknown id is FETCH_SESSION_ID_NOT_FOUND, a wrong epoch
  INVALID_FETCH_SESSION_EPOCH, a session made with topic ids (v13+) used without them (or
  the other way round) FETCH_SESSION_TOPIC_ID_ERROR. Partitions named are added or updated,
  forgotten ones removed; a session left empty is removed and the request answered sessionless.
* the cache holds ``max.incremental.fetch.session.cache.slots`` sessions (1000). When full, a
  new session takes the place of the least recently used one if that was unused for
  ``EVICTION_MS``; otherwise of the evictable session (one older than ``EVICTION_MS`` when
  last used) with the fewest partitions, if it has no more partitions than the new one.
  Follower (privileged) sessions rank above consumer sessions.
"""

from __future__ import annotations

import random
import uuid
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Iterable

import attrs

if TYPE_CHECKING:
    from kafkalite.broker.state import Broker

INVALID_SESSION_ID = 0
INITIAL_EPOCH = 0
FINAL_EPOCH = -1
#: Kafka's max.incremental.fetch.session.cache.slots default.
DEFAULT_CACHE_SLOTS = 1000
#: Kafka's minimum time a session must be unused (or old) to be evictable.
EVICTION_MS = 120_000
INT32_MAX = 2**31 - 1
ZERO_UUID = uuid.UUID(int=0)

#: A partition's key in a session: by topic id when the session uses them, else by name.
PartitionKey = tuple[Any, int]


def next_epoch(epoch: int) -> int:
    """The epoch after *epoch*, as Kafka's FetchMetadata.nextEpoch."""
    if epoch < 0:
        return FINAL_EPOCH
    if epoch == INT32_MAX:
        return 1
    return epoch + 1


def partition_key(topic: str | None, topic_id: uuid.UUID | None, partition: int) -> PartitionKey:
    """As Kafka's CachedPartition equality: the topic id when set, else the name."""
    if topic_id is not None and topic_id != ZERO_UUID:
        return (topic_id, partition)
    return (topic or "", partition)


@attrs.define(eq=False)
class CachedPartition:
    """One partition of a session: the fetcher's last request for it (a FetchPartition) and
    what the broker last answered about it."""

    topic: str | None
    topic_id: uuid.UUID
    request: Any  # the FetchPartition last sent for this partition
    high_watermark: int = -1
    log_start_offset: int = -1
    last_stable_offset: int = -1

    @property
    def partition(self) -> int:
        return self.request.partition

    def must_respond(self, data: Any, update: bool = True) -> bool:
        """Whether the response must carry *data* (a PartitionData) for this partition, as
        Kafka's maybeUpdateResponseData: records, a changed high watermark or log start
        offset, or an error (kafkalite adds a changed last stable offset, which here only
        moves with the high watermark). With *update*, remember what is answered."""
        respond = bool(data.records) and _size(data.records) > 0
        if self.high_watermark != data.high_watermark:
            respond = True
            if update:
                self.high_watermark = data.high_watermark
        if self.log_start_offset != data.log_start_offset:
            respond = True
            if update:
                self.log_start_offset = data.log_start_offset
        if self.last_stable_offset != data.last_stable_offset:
            respond = True
            if update:
                self.last_stable_offset = data.last_stable_offset
        if data.preferred_read_replica not in (-1, None):
            respond = True
        if data.error_code != 0:
            respond = True
            if update:
                self.high_watermark = -1
        return respond


def _size(records: Any) -> int:
    if isinstance(records, list):
        return sum(len(c) for c in records)
    return len(records)


@attrs.define(eq=False)
class FetchSession:
    id: int
    privileged: bool
    uses_topic_ids: bool
    creation_ms: int
    last_used_ms: int
    #: The epoch the next incremental request must carry.
    epoch: int
    partitions: OrderedDict[PartitionKey, CachedPartition] = attrs.Factory(OrderedDict)
    #: Partition count and evictability as of the last touch (Kafka's evictable keys).
    cached_size: int = -1
    evictable_by_all: bool = False
    evictable_by_privileged: bool = False

    def __len__(self) -> int:
        return len(self.partitions)

    def update(
        self, fetch_data: Iterable[tuple[PartitionKey, str | None, uuid.UUID, Any]], forgotten: Iterable[PartitionKey]
    ) -> tuple[list[PartitionKey], list[PartitionKey], list[PartitionKey]]:
        """Add or update the partitions of *fetch_data* ((key, topic, topic id, request)),
        then remove *forgotten*; return (added, updated, removed)."""
        added, updated, removed = [], [], []
        for key, topic, topic_id, request in fetch_data:
            cached = self.partitions.get(key)
            if cached is None:
                self.partitions[key] = CachedPartition(topic, topic_id, request)
                added.append(key)
            else:
                cached.request = request
                updated.append(key)
        for key in forgotten:
            if self.partitions.pop(key, None) is not None:
                removed.append(key)
        return added, updated, removed

    def answered(self, key: PartitionKey, with_records: bool) -> None:
        """A partition that returned records goes to the end, so that the next responses
        start with the others (Kafka's round robin)."""
        if with_records:
            self.partitions.move_to_end(key)


@attrs.define(eq=False)
class FetchSessionCache:
    """The broker's fetch sessions, as Kafka's FetchSessionCacheShard (one shard)."""

    max_entries: int = DEFAULT_CACHE_SLOTS
    eviction_ms: int = EVICTION_MS
    sessions: dict[int, FetchSession] = attrs.Factory(dict)
    #: Least recently used first.
    _lru: OrderedDict[int, FetchSession] = attrs.Factory(OrderedDict)
    evictions: int = 0
    created: int = 0
    _random: random.Random = attrs.Factory(random.Random)

    def __len__(self) -> int:
        return len(self.sessions)

    def get(self, session_id: int) -> FetchSession | None:
        return self.sessions.get(session_id)

    @property
    def total_partitions(self) -> int:
        return sum(max(s.cached_size, 0) for s in self.sessions.values())

    def new_session_id(self) -> int:
        while True:
            session_id = self._random.randint(1, INT32_MAX - 1)
            if session_id not in self.sessions:
                return session_id

    def maybe_create(
        self, now_ms: int, privileged: bool, partitions: OrderedDict[PartitionKey, CachedPartition], uses_topic_ids: bool
    ) -> int:
        """A new session holding *partitions*, if the cache has room or can evict an entry
        for it; its id, or INVALID_SESSION_ID."""
        if len(self.sessions) >= self.max_entries and not self._try_evict(privileged, len(partitions), now_ms):
            return INVALID_SESSION_ID
        session = FetchSession(
            id=self.new_session_id(),
            privileged=privileged,
            uses_topic_ids=uses_topic_ids,
            creation_ms=now_ms,
            last_used_ms=now_ms,
            epoch=next_epoch(INITIAL_EPOCH),
            partitions=partitions,
        )
        self.sessions[session.id] = session
        self.created += 1
        self.touch(session, now_ms)
        return session.id

    def _try_evict(self, privileged: bool, size: int, now_ms: int) -> bool:
        if not self._lru:
            return False
        oldest = next(iter(self._lru.values()))
        if now_ms - oldest.last_used_ms > self.eviction_ms:
            self.remove(oldest.id)
            self.evictions += 1
            return True
        candidates = [
            s for s in self.sessions.values() if (s.evictable_by_privileged if privileged else s.evictable_by_all)
        ]
        if not candidates:
            return False
        victim = min(candidates, key=lambda s: (s.privileged, s.cached_size, s.id))
        # The new session's key is (privileged, size, 0): it may only displace a session
        # that does not rank above it.
        if (privileged, size, 0) < (victim.privileged, victim.cached_size, victim.id):
            return False
        self.remove(victim.id)
        self.evictions += 1
        return True

    def remove(self, session_id: int) -> FetchSession | None:
        session = self.sessions.pop(session_id, None)
        if session is not None:
            self._lru.pop(session_id, None)
        return session

    def touch(self, session: FetchSession, now_ms: int) -> None:
        session.last_used_ms = now_ms
        self._lru.pop(session.id, None)
        self._lru[session.id] = session
        session.cached_size = len(session.partitions)
        old = now_ms - session.creation_ms > self.eviction_ms
        session.evictable_by_privileged = (not session.privileged) or old
        session.evictable_by_all = old


#: The session cache of each broker, made on first use.
_CACHES: weakref.WeakKeyDictionary[Broker, FetchSessionCache] = weakref.WeakKeyDictionary()


def cache_of(broker: Broker) -> FetchSessionCache:
    """The fetch session cache of *broker* (public: tests and tools read it)."""
    cache = _CACHES.get(broker)
    if cache is None:
        slots = broker.config.max_incremental_fetch_session_cache_slots
        cache = _CACHES[broker] = FetchSessionCache(max_entries=slots)
    return cache
