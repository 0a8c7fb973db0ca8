"""Readable text for the learning mode's log: `render` turns what `kafkalite.readable.to_data`
made of a message into indented ``name=value`` lines, one line per record batch, long
arrays cut after `MAX_ITEMS` elements with a count of the rest."""

from __future__ import annotations

import json
from typing import Any

MAX_ITEMS = 30


def render(data: dict[str, Any], indent: str = "   ") -> list[str]:
    """Lines for a `to_data` dict: scalars ``name=value`` on one line, nested things below."""
    lines: list[str] = []
    scalars = []
    nested = []
    for name, value in data.items():
        if isinstance(value, dict) and "records" in value and len(value) == 1:
            nested.append((name, value))
        elif isinstance(value, dict) and not _is_leaf(value):
            nested.append((name, value))
        elif isinstance(value, list) and any(isinstance(v, dict) and not _is_leaf(v) for v in value):
            nested.append((name, value))
        elif name == "api_key" and isinstance(value, int) and _api_name(value):
            scalars.append(f"{name}={value}({_api_name(value)})")
        else:
            scalars.append(f"{name}={value_text(value)}")
    if scalars:
        lines.append(indent + " ".join(scalars))
    for name, value in nested:
        if isinstance(value, dict) and "records" in value:
            lines.extend(_render_records(name, value["records"], indent))
        elif isinstance(value, dict):
            lines.append(f"{indent}{name}:")
            lines.extend(render(value, indent + "  "))
        else:
            for i, item in enumerate(value):
                if isinstance(item, dict) and "..." in item:
                    lines.append(f"{indent}{name}: ... {item['...']}")
                elif isinstance(item, dict) and not _is_leaf(item):
                    sub = render(item, indent + "  ")
                    head = sub[0].strip() if sub and not sub[0].strip().endswith(":") else ""
                    lines.append(f"{indent}{name}[{i}]: {head}".rstrip())
                    lines.extend(sub[1:] if head else sub)
                else:
                    lines.append(f"{indent}{name}[{i}]: {value_text(item)}")
    return lines


def _is_leaf(value: dict[str, Any]) -> bool:
    return set(value) <= {"bytes", "hex"} or set(value) <= {"assigned"} or set(value) <= {"subscribed_topics"}


def _render_records(name: str, summary: dict[str, Any], indent: str) -> list[str]:
    if "messages" in summary:
        return _render_message_set(name, summary, indent)
    if "error" in summary:
        return [f"{indent}{name}: {summary['bytes']} bytes that do not parse: {summary['error']}"]
    batches = summary["batches"]
    if not batches:
        return [f"{indent}{name}: empty"]
    lines = [f"{indent}{name}: {len(batches)} batch(es), {summary['bytes']} bytes"]
    for b in batches[:MAX_ITEMS]:
        flags = "".join(
            f" {flag}" for flag in ("transactional", "control") if b.get(flag)
        ) + (" LogAppendTime" if b.get("timestamp_type") else "")
        lines.append(
            f"{indent}  batch base_offset={b['base_offset']} count={b['count']} codec={b['codec']} "
            f"producer_id={b['producer_id']} producer_epoch={b['producer_epoch']} "
            f"base_sequence={b['base_sequence']} partition_leader_epoch={b['partition_leader_epoch']} "
            f"size={b['size']}{flags}"
        )
    if len(batches) > MAX_ITEMS:
        lines.append(f"{indent}  ... {len(batches) - MAX_ITEMS} more batches")
    if summary.get("partial_tail_bytes"):
        lines.append(f"{indent}  + {summary['partial_tail_bytes']} bytes of a partial batch")
    return lines


def _render_message_set(name: str, summary: dict[str, Any], indent: str) -> list[str]:
    """An old message set (formats v0/v1): a line per shallow message."""
    messages = summary["messages"]
    lines = [f"{indent}{name}: {len(messages)} message(s) of format v0/v1, {summary['bytes']} bytes"]
    for m in messages[:MAX_ITEMS]:
        stamp = f" timestamp={m['timestamp']}" if "timestamp" in m else ""
        inner = f" holding {m['inner_messages']}" if "inner_messages" in m else ""
        extra = (" LogAppendTime" if m.get("timestamp_type") else "") + (" CRC MISMATCH" if m.get("crc") else "")
        lines.append(
            f"{indent}  message offset={m['offset']} magic={m['magic']} codec={m['codec']}{inner}{stamp} "
            f"key={_size_text(m['key_bytes'])} value={_size_text(m['value_bytes'])}{extra}"
        )
    if len(messages) > MAX_ITEMS:
        lines.append(f"{indent}  ... {len(messages) - MAX_ITEMS} more messages")
    if "error" in summary:
        lines.append(f"{indent}  then bytes that do not parse: {summary['error']}")
    return lines


def _size_text(size: int | None) -> str:
    return "null" if size is None else f"{size} bytes"


def value_text(value: Any) -> str:
    """One value of a `to_data` dict as it reads on a line: ``null``, ``true``, a string quoted
    only when empty or spaced, bytes as their length, decoded consumer-protocol bytes in short."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value) if (value == "" or " " in value) else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        if "bytes" in value:
            return f"<{value['bytes']} bytes>"
        if "assigned" in value:
            parts = ",".join(f"{t}-{p}" for t, ps in value["assigned"].items() for p in ps)
            return f"<assignment {parts or 'none'}>"
        if "subscribed_topics" in value:
            return f"<subscription {','.join(value['subscribed_topics'])}>"
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(value_text(v) for v in value) + "]"
    return str(value)


def _api_name(key: int) -> str | None:
    from kafkalite.wire.api_keys import ApiKey

    try:
        return "".join(part.capitalize() for part in ApiKey(key).name.split("_"))
    except ValueError:
        return None

