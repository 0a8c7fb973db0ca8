"""The request journal: the last N requests and their responses, decoded, for tests to query.

Every request the dispatcher serves becomes one `JournalEntry` (connection, client id, node,
API, version, correlation id, the broker clock's wall time, how long the handler took, the
decoded request and response, the fault rule that fired, if any). Entries keep the decoded
objects as they are and render them (`kafkalite.readable`) only when asked, so recording
costs little; `Journal.enabled` is the one check the dispatcher makes when it is off.

Bounded twice:

* by entries: ``capacity`` (``BrokerConfig.journal_size``; 0 turns the journal off), the
  oldest entry leaves when a new one comes;
* by record bytes: a Produce request or a Fetch response holds its record sets, and all
  entries together hold at most ``record_budget`` bytes of them. Past that, the oldest
  entries holding records let them go (their request or response is kept with null record
  sets, everything else as it was): ``to_dict`` then says ``"records": {"kept": false}``,
  and `kafkalite.testing` cannot decode their records any more (the topic's log still has
  them). Dropping is a copy of a few small structs, so a busy broker past its budget pays
  little for it.

Besides the entries, the journal counts which client used which API and version
(``apis``): a handful of keys, kept whatever the capacity, so a compatibility report covers
the whole run, not only the last N requests.

Used only in the broker's trio thread.
"""

from __future__ import annotations

import collections
import uuid
from typing import Any, Callable, Iterable

import attrs

from kafkalite.broker import message_facts

_RECORD_APIS = frozenset({0, 1})  # Produce requests and Fetch responses carry record sets
DEFAULT_RECORD_BUDGET = 64 * 1024 * 1024


def api_matches(wanted: int | str, api_key: int, api_name: str) -> bool:
    """Whether *wanted* (an API key, or a name in any case with or without underscores:
    "Produce", "OFFSET_COMMIT", "offsetcommit") names the API."""
    if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.isdigit()):
        return int(wanted) == api_key
    return _norm(wanted) == _norm(api_name)


def _norm(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


@attrs.define(eq=False, slots=True)
class JournalEntry:
    """One request and its response (None: no response was sent, as for acks=0)."""

    seq: int
    time_ms: int
    api_key: int
    api: str
    api_version: int
    correlation_id: int
    client_id: str | None
    peer: str
    node_id: int
    request: Any
    response: Any
    elapsed_ms: float
    fault: int | None = None
    #: record bytes this entry holds (0 once dropped, or when it never had any)
    record_bytes: int = 0
    records_dropped: bool = False
    _topics: frozenset[tuple[str, int | None]] | None = None
    _groups: frozenset[str] | None = None
    _errors: list[int] | None = None
    _resolve: Callable[[uuid.UUID], str | None] | None = None

    # -- facts, computed once ------------------------------------------------------------

    @property
    def errors(self) -> list[int]:
        """Non-zero error codes of the response (top-level and per topic / partition)."""
        if self._errors is None:
            self._errors = message_facts.error_codes(self.response)
        return self._errors

    @property
    def topics(self) -> frozenset[tuple[str, int | None]]:
        """(topic, partition) pairs the request names (partition None: the whole topic)."""
        if self._topics is None:
            resolve = self._resolve or (lambda _id: None)
            self._topics = frozenset(message_facts.topic_partitions(self.request, resolve))
        return self._topics

    @property
    def groups(self) -> frozenset[str]:
        """Group ids the request names."""
        if self._groups is None:
            self._groups = frozenset(message_facts.group_ids(self.request, self.api_key))
        return self._groups

    def record_sets(self) -> list[tuple[str, int, Any]]:
        """(topic, partition, records) the entry still holds: a Produce request's, or a Fetch
        response's; empty once its records were dropped."""
        if self.records_dropped:
            return []
        message = self.request if self.api_key == 0 else self.response
        resolve = self._resolve or (lambda _id: None)
        return list(message_facts.record_sets(message, resolve))

    # -- rendering -----------------------------------------------------------------------

    def _render(self) -> tuple[Any, Any]:
        from kafkalite.readable import to_data

        request = to_data(self.request, self.api_version, api_key=self.api_key)
        response = None if self.response is None else to_data(self.response, self.api_version, api_key=self.api_key)
        return request, response

    def drop_records(self) -> int:
        """Let the record sets go (the request and response stay, with null record sets).
        Returns the bytes freed."""
        if self.records_dropped:
            return 0
        if self.api_key == 0:
            self.request = message_facts.without_records(self.request)
        else:
            self.response = message_facts.without_records(self.response)
        freed, self.record_bytes, self.records_dropped = self.record_bytes, 0, True
        return freed

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-able data (the HTTP API's form)."""
        request, response = self._render()
        out: dict[str, Any] = {
            "seq": self.seq,
            "time_ms": self.time_ms,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "api": self.api,
            "api_key": self.api_key,
            "api_version": self.api_version,
            "correlation_id": self.correlation_id,
            "client_id": self.client_id,
            "peer": self.peer,
            "node_id": self.node_id,
            "request": request,
            "response": response,
            "errors": list(self.errors),
            "fault": self.fault,
        }
        if self.records_dropped:
            out["records"] = {"kept": False}
        elif self.record_bytes:
            out["records"] = {"bytes": self.record_bytes, "kept": True}
        return out


class Journal:
    """The bounded journal of one broker; see the module docstring."""

    def __init__(
        self,
        capacity: int = 0,
        record_budget: int = DEFAULT_RECORD_BUDGET,
        resolve_topic: Callable[[uuid.UUID], str | None] | None = None,
    ) -> None:
        if capacity < 0 or record_budget < 0:
            raise ValueError("journal capacity and record budget must be >= 0")
        self.capacity = capacity
        #: Whether requests are recorded: the dispatcher's one check.
        self.enabled = capacity > 0
        self.record_budget = record_budget
        self._resolve = resolve_topic
        self._entries: collections.deque[JournalEntry] = collections.deque()
        self._holding: collections.deque[JournalEntry] = collections.deque()  # entries with records, oldest first
        self._record_bytes = 0
        self._seq = 0
        self._apis: dict[tuple[str | None, int, int], int] = {}
        self._api_names: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def record_bytes(self) -> int:
        """Record bytes the entries hold now (at most ``record_budget``)."""
        return self._record_bytes

    # -- changing ------------------------------------------------------------------------

    def resize(self, capacity: int) -> None:
        """Keep at most *capacity* entries from now on (the newest stay); 0 turns it off and
        empties it.

        Raises:
            ValueError: *capacity* is negative.
        """
        if capacity < 0:
            raise ValueError(f"journal capacity must be >= 0, not {capacity}")
        self.capacity = capacity
        self.enabled = capacity > 0
        while len(self._entries) > capacity:
            self._evict()

    def clear(self) -> None:
        """Drop every entry and the API counts (the sequence numbers keep counting up)."""
        self._entries.clear()
        self._holding.clear()
        self._record_bytes = 0
        self._apis.clear()

    def record(
        self,
        *,
        api_key: int,
        api: str,
        api_version: int,
        correlation_id: int,
        client_id: str | None,
        peer: str,
        node_id: int,
        request: Any,
        response: Any,
        time_ms: int,
        elapsed_ms: float,
        fault: int | None = None,
    ) -> JournalEntry | None:
        """Add one request and its response (None if none was sent); return the entry, or
        None when the journal is off."""
        if not self.enabled:
            return None
        self._seq += 1
        entry = JournalEntry(
            self._seq, time_ms, api_key, api, api_version, correlation_id, client_id, peer, node_id,
            request, response, elapsed_ms, fault, resolve=self._resolve,
        )
        key = (client_id, api_key, api_version)
        self._apis[key] = self._apis.get(key, 0) + 1
        self._api_names[api_key] = api
        if len(self._entries) >= self.capacity:
            self._evict()
        self._entries.append(entry)
        if api_key in _RECORD_APIS:
            size = message_facts.held_record_bytes(request if api_key == 0 else response)
            if size:
                entry.record_bytes = size
                self._record_bytes += size
                self._holding.append(entry)
                self._within_budget()
        return entry

    def _evict(self) -> None:
        old = self._entries.popleft()
        if self._holding and self._holding[0] is old:  # both oldest first
            self._holding.popleft()
        self._record_bytes -= old.record_bytes
        old.record_bytes = 0

    def _within_budget(self) -> None:
        while self._record_bytes > self.record_budget and self._holding:
            entry = self._holding.popleft()
            if entry.record_bytes:
                self._record_bytes -= entry.drop_records()

    # -- reading -------------------------------------------------------------------------

    def entries(self) -> list[JournalEntry]:
        """Every entry, oldest first."""
        return list(self._entries)

    def query(
        self,
        api: int | str | Iterable[int | str] | None = None,
        client_id: str | None = None,
        topic: str | None = None,
        partition: int | None = None,
        group_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Entries matching every filter given, oldest first: *api* (a key or a name, or
        several), *client_id*, *topic* and *partition* (named by the request; a request
        naming the whole topic matches any partition), *group_id*, the broker wall time
        window ``since_ms <= time_ms <= until_ms``; *limit* keeps the newest that many."""
        wanted_apis: list[int | str] | None = None
        if api is not None:
            wanted_apis = [api] if isinstance(api, (int, str)) else list(api)
        found = []
        for entry in reversed(self._entries):
            if since_ms is not None and entry.time_ms < since_ms:
                continue
            if until_ms is not None and entry.time_ms > until_ms:
                continue
            if wanted_apis is not None and not any(api_matches(w, entry.api_key, entry.api) for w in wanted_apis):
                continue
            if client_id is not None and entry.client_id != client_id:
                continue
            if group_id is not None and group_id not in entry.groups:
                continue
            if topic is not None or partition is not None:
                if not any(
                    (topic is None or t == topic) and (partition is None or p is None or p == partition)
                    for t, p in entry.topics
                ):
                    continue
            found.append(entry)
            if limit is not None and len(found) >= limit:
                break
        found.reverse()
        return found

    def apis(self, client_id: str | None = None) -> dict[str, list[int]]:
        """API name -> versions used (sorted), by *client_id* or by every client; counts every
        request since the last `clear`, whatever the capacity."""
        used: dict[str, set[int]] = {}
        for (cid, api_key, version), _count in self._apis.items():
            if client_id is None or cid == client_id:
                used.setdefault(self._api_names[api_key], set()).add(version)
        return {name: sorted(versions) for name, versions in sorted(used.items())}

    def clients(self) -> list[str | None]:
        """The client ids seen since the last `clear`."""
        return sorted({cid for cid, _k, _v in self._apis}, key=lambda c: (c is None, c or ""))


__all__ = ["DEFAULT_RECORD_BUDGET", "Journal", "JournalEntry", "api_matches"]
