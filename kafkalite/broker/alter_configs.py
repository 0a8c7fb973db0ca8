"""Logic shared by the config-altering handlers (AlterConfigs, IncrementalAlterConfigs).

Both take a list of (resource type, resource name, changes) and answer per resource; they
differ only in how a topic's new overrides are computed from the old ones.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from kafkalite.broker.state import Broker
from kafkalite.broker.topic_configs import ConfigResourceType, InvalidConfig
from kafkalite.wire.error_codes import ErrorCode

NewConfigs = Callable[[dict[str, str], Any], dict[str, str]]


def alter_topic_configs(
    broker: Broker, resources: list[Any], validate_only: bool, new_configs: NewConfigs
) -> list[tuple[int, str | None]]:
    """Apply *new_configs(current_overrides, resource)* to each TOPIC resource.

    Returns one (error code, error message) per resource, in order. Duplicated resources
    are INVALID_REQUEST; BROKER and other resource types too (kafkalite has no dynamic broker
    configs); an unknown topic is UNKNOWN_TOPIC_OR_PARTITION; *new_configs* raising
    `InvalidConfig` is INVALID_CONFIG. Nothing changes when *validate_only*.
    """
    counts = Counter((r.resource_type, r.resource_name) for r in resources)
    results: list[tuple[int, str | None]] = []
    for resource in resources:
        if counts[(resource.resource_type, resource.resource_name)] > 1:
            results.append((ErrorCode.INVALID_REQUEST, "Duplicate resource in request."))
            continue
        if resource.resource_type != ConfigResourceType.TOPIC:
            results.append((ErrorCode.INVALID_REQUEST, "kafkalite supports altering topic configs only."))
            continue
        topic = broker.cluster.topic(resource.resource_name)
        if topic is None:
            results.append(
                (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic '{resource.resource_name}' does not exist.")
            )
            continue
        try:
            configs = new_configs(topic.configs, resource)
        except InvalidConfig as exc:
            results.append((ErrorCode.INVALID_CONFIG, str(exc)))
            continue
        if not validate_only:
            broker.set_topic_configs(topic.name, configs)
        results.append((ErrorCode.NONE, None))
    return results


def resource_responses(entry_cls: type, resources: list[Any], results: list[tuple[int, str | None]]) -> list[Any]:
    """One *entry_cls* (the API's per-resource response) for each resource and its result."""
    return [
        entry_cls(
            error_code=code,
            error_message=message,
            resource_type=resource.resource_type,
            resource_name=resource.resource_name,
        )
        for resource, (code, message) in zip(resources, results)
    ]


def failed_resources(entry_cls: type, resources: list[Any], code: ErrorCode, message: str) -> list[Any]:
    """Every resource answered with the same error (the request failed as a whole)."""
    return resource_responses(entry_cls, resources, [(code, message)] * len(resources))
