"""Compatibility levels: which registered versions a new schema is checked against, in which
direction, and Confluent's rendering of what was found.

* BACKWARD: the new schema reads data written with the latest version;
* FORWARD: the latest version reads data written with the new schema;
* FULL: both; the ``_TRANSITIVE`` forms check every version not deleted, not only the latest;
* NONE: nothing is checked.

The type-specific rules are each `ParsedSchema`'s `incompatibilities`.
"""

from __future__ import annotations

from typing import Callable, Sequence

from kafkalite.schemas.model import Incompatibility, ParsedSchema, Reference
from kafkalite.schemas.store import SchemaVersion

LEVELS = ("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE")

#: (the version found wanting, the level, why)
Problem = tuple[SchemaVersion, str, list[Incompatibility]]
Parse = Callable[[str, str, Sequence[Reference]], ParsedSchema]


def find_problems(parse: Parse, parsed: ParsedSchema, schema_type: str, versions: list[SchemaVersion],
                  level: str) -> list[Problem]:
    """Why *parsed* (of *schema_type*) cannot follow *versions* (oldest first) at *level*,
    newest version first; empty when it can. *parse* parses a registered version."""
    if level == "NONE" or not versions:
        return []
    against = versions if level.endswith("_TRANSITIVE") else versions[-1:]
    base = level.replace("_TRANSITIVE", "")
    found: list[Problem] = []
    for old in reversed(against):
        if old.schema_type != schema_type:
            found.append((old, level, [Incompatibility(
                "TYPE_MISMATCH", f"The schema type {schema_type} differs from the old schema's {old.schema_type}",
                schema_type)]))
            continue
        old_parsed = parse(old.schema, old.schema_type, old.references)
        issues: list[Incompatibility] = []
        if base in ("BACKWARD", "FULL"):
            issues += parsed.incompatibilities(old_parsed, True)
        if base in ("FORWARD", "FULL"):
            issues += old_parsed.incompatibilities(parsed, False)
        if issues:
            found.append((old, level, issues))
    return found


def messages(problems: list[Problem]) -> list[str]:
    """Confluent's messages of a verbose compatibility answer: each reason, then the version,
    its schema and the level."""
    found: list[str] = []
    for old, level, issues in problems:
        found += [i.message() for i in issues]
        found += [f"{{oldSchemaVersion: {old.version}}}", f"{{oldSchema: '{old.schema}'}}",
                  f"{{compatibility: '{level}'}}"]
    return found


def incompatible_message(subject: str, problems: list[Problem]) -> str:
    """The message of the 409 that refuses a registration."""
    return (f'Schema being registered is incompatible with an earlier schema for subject "{subject}", '
            f"details: [{', '.join(messages(problems))}]")
