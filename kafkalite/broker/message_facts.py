"""What a decoded request or response is about: its error codes, topics, partitions, groups.

The journal (`kafkalite.broker.journal`) and the metrics (`kafkalite.broker.metrics`) ask
these questions of every API alike, so they are answered from the message declarations
(``__kafka_fields__``) rather than per API: a plan per struct class, built once, says which
fields to look at.

* error codes: every int16 field named ``error_code`` (or ``..._error_code``), at the top
  level and inside nested structs and arrays (per topic, per partition);
* topics: the elements of arrays whose field name has "topic" in it, named by ``name``,
  ``topic`` or ``topic_name`` (or by ``topic_id``, resolved by the caller);
* partitions: inside such a topic, the int32 arrays or the structs (``index``,
  ``partition``, ``partition_index``, ``partition_id``) of fields with "partition" in the
  name;
* groups: every string field named ``group_id``, the group lists of DescribeGroups and
  DeleteGroups, and FindCoordinator's keys for groups.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Iterator

import attrs

from kafkalite.wire.schema import Array

_TOPIC_NAME_FIELDS = ("name", "topic", "topic_name")
_PARTITION_FIELDS = ("index", "partition", "partition_index", "partition_id")
_FIND_COORDINATOR = 10
_DESCRIBE_GROUPS = 15
_DELETE_GROUPS = 42

# class -> (error code field names, ((field name, is_array), ...) of nested structs with codes)
_ERROR_PLANS: dict[type, tuple[tuple[str, ...], tuple[tuple[str, bool], ...]]] = {}


def _fields(cls: type) -> tuple[Any, ...]:
    return getattr(cls, "__kafka_fields__", ())


def _is_struct(t: Any) -> bool:
    return hasattr(t, "__kafka_fields__")


def _error_plan(cls: type) -> tuple[tuple[str, ...], tuple[tuple[str, bool], ...]]:
    plan = _ERROR_PLANS.get(cls)
    if plan is not None:
        return plan
    _ERROR_PLANS[cls] = ((), ())  # a struct that contains itself stops here
    codes: list[str] = []
    nested: list[tuple[str, bool]] = []
    for spec in _fields(cls):
        t = spec.type
        if t == "int16" and spec.name.endswith("error_code"):
            codes.append(spec.name)
        elif isinstance(t, Array) and _is_struct(t.element):
            if any(_error_plan(t.element)):
                nested.append((spec.name, True))
        elif _is_struct(t) and any(_error_plan(t)):
            nested.append((spec.name, False))
    plan = (tuple(codes), tuple(nested))
    _ERROR_PLANS[cls] = plan
    return plan


def error_codes(message: Any) -> list[int]:
    """The non-zero error codes of *message* (a decoded response), in the order they appear:
    top-level first, then per nested struct (topic, partition); one per occurrence."""
    out: list[int] = []
    if message is not None:
        _collect_errors(message, out)
    return out


def _collect_errors(obj: Any, out: list[int]) -> None:
    codes, nested = _ERROR_PLANS.get(type(obj)) or _error_plan(type(obj))
    for name in codes:
        code = getattr(obj, name)
        if code:
            out.append(code)
    for name, is_array in nested:
        value = getattr(obj, name)
        if value is None:
            continue
        if is_array:
            for item in value:
                _collect_errors(item, out)
        else:
            _collect_errors(value, out)


def topic_partitions(
    message: Any, resolve: Callable[[uuid.UUID], str | None] = lambda _id: None
) -> Iterator[tuple[str, int | None]]:
    """(topic, partition) pairs named by *message*; partition None where the message names a
    topic without partitions (Metadata, CreateTopics ...). *resolve* turns a topic id into a
    name (None if unknown: the id's text is used)."""
    if message is None:
        return
    yield from _walk_topics(message, resolve)


def _walk_topics(obj: Any, resolve: Callable[[uuid.UUID], str | None]) -> Iterator[tuple[str, int | None]]:
    for spec in _fields(type(obj)):
        t = spec.type
        if isinstance(t, Array) and _is_struct(t.element):
            items = getattr(obj, spec.name) or ()
            if "topic" in spec.name:
                for item in items:
                    yield from _topic(item, resolve)
            else:
                for item in items:
                    yield from _walk_topics(item, resolve)
        elif _is_struct(t):
            value = getattr(obj, spec.name)
            if value is not None:
                yield from _walk_topics(value, resolve)


def topic_name(obj: Any, resolve: Callable[[uuid.UUID], str | None]) -> str | None:
    names = {spec.name for spec in _fields(type(obj))}
    for field_name in _TOPIC_NAME_FIELDS:
        if field_name in names:
            value = getattr(obj, field_name)
            if value:
                return value
    if "topic_id" in names:
        topic_id = getattr(obj, "topic_id")
        if topic_id is not None and topic_id.int:
            return resolve(topic_id) or str(topic_id)
    return None


def _topic(obj: Any, resolve: Callable[[uuid.UUID], str | None]) -> Iterator[tuple[str, int | None]]:
    name = topic_name(obj, resolve)
    if name is None:
        yield from _walk_topics(obj, resolve)
        return
    found = False
    for spec in _fields(type(obj)):
        if "partition" not in spec.name or not isinstance(spec.type, Array):
            continue
        element = spec.type.element
        for item in getattr(obj, spec.name) or ():
            if element == "int32":
                found = True
                yield name, item
            elif _is_struct(element):
                fields = {s.name for s in _fields(element)}
                for partition_field in _PARTITION_FIELDS:
                    if partition_field in fields:
                        found = True
                        yield name, getattr(item, partition_field)
                        break
    if not found:
        yield name, None


def group_ids(message: Any, api_key: int) -> set[str]:
    """The consumer group ids *message* (a request of *api_key*) names."""
    found: set[str] = set()
    if message is None:
        return found
    if api_key == _FIND_COORDINATOR:
        if getattr(message, "key_type", 0) == 0:
            if getattr(message, "key", ""):
                found.add(message.key)
            found.update(getattr(message, "coordinator_keys", None) or ())
        return found
    if api_key == _DESCRIBE_GROUPS:
        found.update(getattr(message, "groups", None) or ())
    elif api_key == _DELETE_GROUPS:
        found.update(getattr(message, "groups_names", None) or ())
    _collect_groups(message, found)
    return found


def _collect_groups(obj: Any, found: set[str]) -> None:
    for spec in _fields(type(obj)):
        t = spec.type
        if spec.name == "group_id" and t == "string":
            value = getattr(obj, "group_id")
            if value:
                found.add(value)
        elif isinstance(t, Array) and _is_struct(t.element):
            for item in getattr(obj, spec.name) or ():
                _collect_groups(item, found)
        elif _is_struct(t):
            value = getattr(obj, spec.name)
            if value is not None:
                _collect_groups(value, found)


# class -> ((topics field, partitions field, partition index field or None), ...): where a
# message (a Produce request, a Fetch response) holds record sets.
_RECORD_PLANS: dict[type, tuple[tuple[str, str, str | None], ...]] = {}


def _records_plan(cls: type) -> tuple[tuple[str, str, str | None], ...]:
    plan = _RECORD_PLANS.get(cls)
    if plan is not None:
        return plan
    found = []
    for spec in _fields(cls):  # Produce's topic_data, Fetch's responses
        if not (isinstance(spec.type, Array) and _is_struct(spec.type.element)):
            continue
        for pspec in _fields(spec.type.element):
            pt = pspec.type
            if isinstance(pt, Array) and _is_struct(pt.element):
                part_fields = {s.name for s in _fields(pt.element)}
                if "records" in part_fields:
                    index_field = next((f for f in _PARTITION_FIELDS if f in part_fields), None)
                    found.append((spec.name, pspec.name, index_field))
    plan = _RECORD_PLANS[cls] = tuple(found)
    return plan


def record_sets(message: Any, resolve: Callable[[uuid.UUID], str | None] = lambda _id: None) -> Iterator[tuple[str, int, Any]]:
    """(topic, partition, records) of every record set in *message* (a Produce request or a
    Fetch response), records as held (bytes, memoryview, or a list of stored chunks)."""
    if message is None:
        return
    for topics_field, parts_field, index_field in _records_plan(type(message)):
        for topic in getattr(message, topics_field) or ():
            name: str | None = None
            for part in getattr(topic, parts_field) or ():
                records = part.records
                if records is not None:
                    if name is None:
                        name = topic_name(topic, resolve) or ""
                    yield name, getattr(part, index_field) if index_field else -1, records


def records_size(records: Any) -> int:
    """Bytes held by a record set as `record_sets` yields it."""
    if isinstance(records, list):
        return sum(len(chunk) for chunk in records)
    return len(records)


def held_record_bytes(message: Any) -> int:
    """Bytes of all record sets *message* holds (0 for messages without any)."""
    if message is None:
        return 0
    total = 0
    for topics_field, parts_field, _index in _records_plan(type(message)):
        for topic in getattr(message, topics_field) or ():
            for part in getattr(topic, parts_field) or ():
                records = part.records
                if records is not None:
                    total += records_size(records)
    return total


def without_records(message: Any) -> Any:
    """A copy of *message* whose record sets are null (the rest shared), so that the record
    bytes can be let go; *message* itself if it holds none."""
    plan = _records_plan(type(message)) if message is not None else ()
    if not plan:
        return message
    changes = {}
    for topics_field, parts_field, _index in plan:
        topics = getattr(message, topics_field)
        if topics:
            changes[topics_field] = [
                attrs.evolve(topic, **{parts_field: [attrs.evolve(p, records=None) for p in getattr(topic, parts_field)]})
                for topic in topics
            ]
    return attrs.evolve(message, **changes)


__all__ = [
    "error_codes", "group_ids", "held_record_bytes", "record_sets", "records_size", "topic_name", "topic_partitions",
    "without_records",
]
