"""Answers with an error on some topics or partitions of a request, the others as handled.

Kafka answers most data APIs per partition: a Produce to three partitions can succeed on two
and fail on the third. `PartitionLayout` says, for one API, where its request and response
name topics and partitions, and what a failed partition carries besides its error code (the
offsets Kafka's ``getErrorResponse`` sets to -1). With it:

* `split` cuts the failed partitions out of a request, so the handler applies only the rest
  (a fault must not half-apply what it answers as failed);
* `merge` puts error entries for the cut partitions back into the handler's answer, in the
  request's order (and builds the whole answer when nothing was left to handle);
* `override` turns the matched entries of an answer into errors, for a request that was
  handled whole (a read, or a write whose acknowledgement is lost on purpose).

Topics are named by name, or by id from Produce v13 / Fetch v13 / OffsetCommit v10: callers
pass ``names`` (topic id -> name) so a failed topic is found either way.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable

import attrs

from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.schema import Array

#: Says whether (topic name, partition index) must fail; partition None asks about a topic.
Failed = Callable[[str, "int | None"], bool]
#: Topic id -> topic name (None when unknown).
Names = Callable[[uuid.UUID], "str | None"]

ZERO_UUID = uuid.UUID(int=0)
AUTHORIZED_OPERATIONS_OMITTED = -(2**31)


@attrs.frozen
class PartitionLayout:
    """Where one API's request and response list topics and partitions."""

    request_topics: str
    request_partitions: str | None  # None: the API answers per topic (Metadata)
    request_index: str | None  # None: the request lists partitions as plain ints
    response_topics: str
    response_partitions: str | None
    response_index: str | None
    error_values: dict[str, Any] = attrs.field(factory=dict)
    mutates: bool = False  # the request changes state: failed partitions are cut out first
    response_groups: str | None = None  # OffsetFetch v8+: topics sit inside groups


LAYOUTS: dict[int, PartitionLayout] = {
    ApiKey.PRODUCE: PartitionLayout(
        "topic_data", "partition_data", "index", "responses", "partition_responses", "index",
        {"base_offset": -1, "log_append_time_ms": -1, "log_start_offset": -1}, mutates=True,
    ),
    ApiKey.FETCH: PartitionLayout(
        "topics", "partitions", "partition", "responses", "partitions", "partition_index",
        {"high_watermark": -1, "last_stable_offset": -1, "log_start_offset": -1, "records": b"",
         "aborted_transactions": None},
    ),
    ApiKey.LIST_OFFSETS: PartitionLayout(
        "topics", "partitions", "partition_index", "topics", "partitions", "partition_index",
        {"timestamp": -1, "offset": -1, "leader_epoch": -1, "old_style_offsets": []},
    ),
    ApiKey.METADATA: PartitionLayout(
        "topics", None, None, "topics", None, None,
        {"is_internal": False, "partitions": [], "topic_authorized_operations": AUTHORIZED_OPERATIONS_OMITTED},
    ),
    ApiKey.OFFSET_COMMIT: PartitionLayout(
        "topics", "partitions", "partition_index", "topics", "partitions", "partition_index", mutates=True,
    ),
    ApiKey.OFFSET_FETCH: PartitionLayout(
        "topics", "partition_indexes", None, "topics", "partitions", "partition_index",
        {"committed_offset": -1, "committed_leader_epoch": -1, "metadata": ""}, response_groups="groups",
    ),
    ApiKey.DELETE_RECORDS: PartitionLayout(
        "topics", "partitions", "partition_index", "topics", "partitions", "partition_index",
        {"low_watermark": -1}, mutates=True,
    ),
    ApiKey.OFFSET_FOR_LEADER_EPOCH: PartitionLayout(
        "topics", "partitions", "partition", "topics", "partitions", "partition",
        {"leader_epoch": -1, "end_offset": -1},
    ),
    ApiKey.TXN_OFFSET_COMMIT: PartitionLayout(
        "topics", "partitions", "partition_index", "topics", "partitions", "partition_index", mutates=True,
    ),
}


def _fields(cls: type) -> dict[str, Any]:
    return {spec.name: spec for spec in cls.__kafka_fields__}  # type: ignore[attr-defined]


def _element(cls: type, name: str) -> type:
    kind = _fields(cls)[name].type
    return kind.element if isinstance(kind, Array) else kind


def _name_field(cls: type) -> str:
    return "name" if "name" in _fields(cls) else "topic"


def topic_name(entry: Any, names: Names) -> str:
    """The name of a request or response topic entry, by name or by id."""
    name = getattr(entry, _name_field(type(entry)), None)
    topic_id = getattr(entry, "topic_id", None)
    if not name and topic_id is not None and topic_id != ZERO_UUID:
        return names(topic_id) or ""
    return name or ""


def _index(entry: Any, field: str | None) -> int:
    return entry if field is None else getattr(entry, field)


@attrs.frozen
class PartitionError:
    """What a failed partition carries: code, message (where the version has a field for it),
    and optionally the current leader to hint at (KIP-951) as (leader id, leader epoch)."""

    code: int
    message: str | None = None
    leader: Callable[[str, int], "tuple[int, int] | None"] | None = None


def _error_entry(cls: type, layout: PartitionLayout, index: int | None, name: str, error: PartitionError, base: Any = None) -> Any:
    fields = _fields(cls)
    values = {key: value for key, value in layout.error_values.items() if key in fields}
    values["error_code"] = error.code
    if "error_message" in fields:
        values["error_message"] = error.message
    if error.leader is not None and index is not None and "current_leader" in fields:
        leader = error.leader(name, index)
        if leader is not None:
            leader_cls = _element(cls, "current_leader")
            values["current_leader"] = leader_cls(leader_id=leader[0], leader_epoch=leader[1])
    if base is not None:
        return attrs.evolve(base, **values)
    if index is not None and layout.response_index is not None:
        values[layout.response_index] = index
    return cls(**values)


def split(layout: PartitionLayout, request: Any, failed: Failed, names: Names) -> Any | None:
    """*request* without its failed partitions (topics left empty go too); None when nothing
    is left to handle."""
    topics = []
    for topic in getattr(request, layout.request_topics) or ():
        name = topic_name(topic, names)
        if layout.request_partitions is None:
            if not failed(name, None):
                topics.append(topic)
            continue
        kept = [p for p in getattr(topic, layout.request_partitions) if not failed(name, _index(p, layout.request_index))]
        if kept:
            topics.append(attrs.evolve(topic, **{layout.request_partitions: kept}))
    if not topics:
        return None
    return attrs.evolve(request, **{layout.request_topics: topics})


def merge(
    layout: PartitionLayout, response_cls: type, request: Any, response: Any | None, failed: Failed,
    error: PartitionError, names: Names,
) -> Any:
    """The answer to *request*: the handler's *response* (to the `split` request, or None when
    nothing was handled) with error entries for the failed partitions, in request order."""
    topic_cls = _element(response_cls, layout.response_topics)
    handled: dict[str, Any] = {}
    if response is not None:
        for topic in getattr(response, layout.response_topics):
            handled[topic_name(topic, names)] = topic
    out = []
    for topic in getattr(request, layout.request_topics) or ():
        name = topic_name(topic, names)
        done = handled.get(name)
        if layout.request_partitions is None:  # answered per topic
            out.append(done if done is not None and not failed(name, None) else _topic_error(topic_cls, layout, topic, error))
            continue
        assert layout.response_partitions is not None
        part_cls = _element(topic_cls, layout.response_partitions)
        by_index = {}
        if done is not None:
            by_index = {_index(p, layout.response_index): p for p in getattr(done, layout.response_partitions)}
        parts = []
        for p in getattr(topic, layout.request_partitions):
            index = _index(p, layout.request_index)
            if failed(name, index):
                parts.append(_error_entry(part_cls, layout, index, name, error))
            elif index in by_index:
                parts.append(by_index[index])
        if done is not None:
            out.append(attrs.evolve(done, **{layout.response_partitions: parts}))
        else:
            out.append(topic_cls(**_topic_keys(topic_cls, topic), **{layout.response_partitions: parts}))
    if response is None:
        return response_cls(**{layout.response_topics: out})
    return attrs.evolve(response, **{layout.response_topics: out})


def _topic_keys(topic_cls: type, request_topic: Any) -> dict[str, Any]:
    """The name / id fields of a response topic entry, copied from the request's."""
    fields = _fields(topic_cls)
    values = {_name_field(topic_cls): getattr(request_topic, _name_field(type(request_topic)), "") or ""}
    if "topic_id" in fields:
        values["topic_id"] = getattr(request_topic, "topic_id", ZERO_UUID)
    return values


def _topic_error(topic_cls: type, layout: PartitionLayout, request_topic: Any, error: PartitionError) -> Any:
    return _error_entry(topic_cls, layout, None, "", error, base=topic_cls(**_topic_keys(topic_cls, request_topic)))


def override(layout: PartitionLayout, response: Any, failed: Failed, error: PartitionError, names: Names) -> Any:
    """*response* with its failed entries turned into errors (for a request handled whole)."""

    def topics(holder: Any) -> Any:
        out = []
        for topic in getattr(holder, layout.response_topics):
            name = topic_name(topic, names)
            if layout.response_partitions is None:
                out.append(_error_entry(type(topic), layout, None, name, error, base=topic) if failed(name, None) else topic)
                continue
            parts = [
                _error_entry(type(p), layout, _index(p, layout.response_index), name, error, base=p)
                if failed(name, _index(p, layout.response_index))
                else p
                for p in getattr(topic, layout.response_partitions)
            ]
            out.append(attrs.evolve(topic, **{layout.response_partitions: parts}))
        return attrs.evolve(holder, **{layout.response_topics: out})

    if layout.response_groups is not None and getattr(response, layout.response_groups, None):
        return attrs.evolve(
            response, **{layout.response_groups: [topics(g) for g in getattr(response, layout.response_groups)]}
        )
    return topics(response)
