"""The dynamic configs of brokers and groups, durable in ``DATA_DIR/meta/dynamic-configs.json``.

What Kafka keeps in its cluster metadata for AlterConfigs / IncrementalAlterConfigs on BROKER
resources (per broker id, and "" for the cluster-wide defaults) and GROUP resources. The file
is rewritten whole on every change, atomically (temp file, fsync, rename, fsync the folder),
so a kill -9 leaves either the old or the new set, never a mix. Logger levels (BROKER_LOGGER)
are not kept here: Kafka does not persist them either.

A new cluster starts, as Kafka 4 does with eligible leader replicas on, with the cluster-wide
``min.insync.replicas=1`` (`CLUSTER_DEFAULTS`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from kafkalite.broker.topic_configs import CLUSTER_DEFAULTS, DynamicLayers
from kafkalite.storage import KafkaStorageError, LogStore

FILE_NAME = "dynamic-configs.json"
FORMAT_VERSION = 1


def _initial_brokers() -> dict[str, dict[str, str]]:
    return {"": dict(CLUSTER_DEFAULTS)}


@attrs.define(eq=False)
class DynamicConfigStore:
    """Dynamic broker configs by resource name ("" = cluster-wide default, else a broker id)
    and group configs by group id, each a dict of config name -> value.

    Callers validate before they set; a failed write leaves the previous state in memory and
    on disk, and raises `KafkaStorageError`.
    """

    files: Any
    path: Path | None  # None: an in-memory broker, nothing written
    brokers: dict[str, dict[str, str]] = attrs.field(factory=_initial_brokers)
    groups: dict[str, dict[str, str]] = attrs.field(factory=dict)
    #: node id -> the topic defaults its layers set (`topic_defaults`), kept until a change:
    #: produce reads them for every partition it appends to.
    _topic_defaults: dict[int, dict[str, str]] = attrs.field(factory=dict, init=False)

    @classmethod
    def open(cls, store: LogStore) -> DynamicConfigStore:
        """Load the dynamic configs of the data dir *store* holds (none yet: the initial set).

        Raises:
            KafkaStorageError: the file cannot be read or is not what this module writes.
        """
        path = None if store.metadata_path is None else store.metadata_path.parent / FILE_NAME
        configs = cls(store.files, path)
        if path is None:
            return configs
        try:
            data = store.files.read_bytes(path)
            if data is None:
                return configs
            saved = json.loads(data)
            configs.brokers = {str(k): {str(n): str(v) for n, v in c.items()} for k, c in saved["brokers"].items()}
            configs.groups = {str(k): {str(n): str(v) for n, v in c.items()} for k, c in saved["groups"].items()}
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise KafkaStorageError(f"cannot read the dynamic configs {path}: {exc}") from exc
        return configs

    def layers(self, node_id: int) -> DynamicLayers:
        """The dynamic configs in force on broker *node_id*."""
        return DynamicLayers(broker=dict(self.brokers.get(str(node_id), {})), cluster=dict(self.brokers.get("", {})))

    def topic_defaults(self, node_id: int) -> dict[str, str]:
        """Topic config name -> the default the dynamic configs in force on *node_id* give it
        (only those set); the caller must not change the dict."""
        defaults = self._topic_defaults.get(node_id)
        if defaults is None:
            defaults = self._topic_defaults[node_id] = self.layers(node_id).topic_defaults()
        return defaults

    def broker(self, name: str) -> dict[str, str]:
        """The dynamic configs of BROKER resource *name* ("" or a broker id), a copy."""
        return dict(self.brokers.get(name, {}))

    def group(self, group_id: str) -> dict[str, str]:
        """The configs set on group *group_id*, a copy."""
        return dict(self.groups.get(group_id, {}))

    def set_broker(self, name: str, configs: dict[str, str]) -> None:
        """Replace the dynamic configs of BROKER resource *name* and save. Raises KafkaStorageError."""
        self._replace(self.brokers, name, configs)

    def set_group(self, group_id: str, configs: dict[str, str]) -> None:
        """Replace the configs of group *group_id* and save. Raises KafkaStorageError."""
        self._replace(self.groups, group_id, configs)

    def reset(self) -> None:
        """Back to a new cluster's configs (tests reuse a broker). Raises KafkaStorageError."""
        brokers, groups = self.brokers, self.groups
        self.brokers, self.groups = _initial_brokers(), {}
        self._topic_defaults.clear()
        try:
            self._save()
        except KafkaStorageError:
            self.brokers, self.groups = brokers, groups
            raise

    def _replace(self, table: dict[str, dict[str, str]], key: str, configs: dict[str, str]) -> None:
        previous = table.get(key)
        self._topic_defaults.clear()
        if configs:
            table[key] = dict(configs)
        else:
            table.pop(key, None)
        try:
            self._save()
        except KafkaStorageError:
            if previous is None:
                table.pop(key, None)
            else:
                table[key] = previous
            raise

    def _save(self) -> None:
        if self.path is None:
            return
        snapshot = {"version": FORMAT_VERSION, "brokers": self.brokers, "groups": self.groups}
        data = json.dumps(snapshot, indent=2, sort_keys=True).encode() + b"\n"
        try:
            self.files.write_atomic(self.path, data, durable=True)
        except OSError as exc:
            raise KafkaStorageError(f"cannot save the dynamic configs {self.path}: {exc}") from exc
