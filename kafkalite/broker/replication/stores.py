"""Where each broker node keeps its replicas: one `LogStore` per node.

With one broker nothing moves: the node's store is the broker's own (``DATA_DIR/TOPIC-P``).
With several, node *id* keeps the replicas it hosts in ``DATA_DIR/node-<id>/TOPIC-P`` (its own
checkpoints beside them), as each Kafka broker has its own log dirs; in memory mode each node
has a store of its own. ``DATA_DIR/meta/`` stays the cluster's, in the broker's store.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import attrs

from kafkalite.storage import KafkaStorageError, LogConfig, LogStore, PartitionLog

log = logging.getLogger("kafkalite.replication")


def node_dir(data_dir: Path, node_id: int) -> Path:
    """DATA_DIR/node-<id>: the replicas of broker node *node_id* when several run."""
    return Path(data_dir) / f"node-{node_id}"


@attrs.define(eq=False)
class NodeStores:
    """The `LogStore` of every broker node, by node id."""

    stores: dict[int, LogStore]
    #: Whether the one node's store is the broker's own (one broker): not closed here.
    shared: bool

    @classmethod
    def open(cls, store: LogStore, node_ids: list[int]) -> NodeStores:
        """One store per node in *node_ids*: *store* itself for a single node, else a store
        under ``node-<id>/`` of *store*'s data dir (or in memory when *store* is).

        Raises:
            KafkaStorageError: a node's dir cannot be opened (those opened are closed).
        """
        if len(node_ids) == 1:
            return cls({node_ids[0]: store}, shared=True)
        stores: dict[int, LogStore] = {}
        try:
            for node_id in node_ids:
                path = None if store.data_dir is None else node_dir(store.data_dir, node_id)
                stores[node_id] = LogStore.open(path)
                stores[node_id].use_clock(store.clock)
        except KafkaStorageError:
            for opened in stores.values():
                opened.close()
            raise
        return cls(stores, shared=False)

    def use_clock(self, clock) -> None:  # type: ignore[no-untyped-def]
        for store in self.stores.values():
            store.use_clock(clock)

    def get(self, node_id: int, topic: str, partition: int) -> PartitionLog | None:
        store = self.stores.get(node_id)
        return None if store is None else store.get(topic, partition)

    def adopt_single_copy(self, store: LogStore, node_id: int, topic: str, partition: int) -> None:
        """Move a partition folder of a data dir written when several brokers shared one copy
        of each partition (``DATA_DIR/TOPIC-P``) into node *node_id*'s folder (the leader's):
        what it holds stays served, and the followers copy it from there."""
        if self.shared or store.data_dir is None or node_id not in self.stores:
            return
        old = store.partition_dir(topic, partition)
        new = self.stores[node_id].partition_dir(topic, partition)
        if not old.is_dir() or new.exists():
            return
        try:
            new.parent.mkdir(parents=True, exist_ok=True)
            old.rename(new)
        except OSError as exc:
            raise KafkaStorageError(f"cannot move {old} into {new}: {exc}") from exc
        log.warning("moved %s (one copy for every node, as before replication) into %s", old, new)

    def open_log(self, node_id: int, topic: str, partition: int, config: LogConfig) -> PartitionLog:
        """Node *node_id*'s log of the partition, opened (recovered) or created."""
        return self.stores[node_id].log(topic, partition, config)

    def drop(self, topic: str, partition: int) -> None:
        """Delete the partition's replica on every node.

        Raises:
            KafkaStorageError: the files of a replica could not be removed (the others go).
        """
        failure: KafkaStorageError | None = None
        for store in self.stores.values():
            try:
                store.drop(topic, partition)
            except KafkaStorageError as exc:
                failure = exc
        if failure is not None:
            raise failure

    def close_node(self, node_id: int, *, flush: bool) -> None:
        """Close every log of node *node_id* (flushed first when *flush*: a clean stop; a hard
        stop writes nothing more, as a killed process). Reopened by `open_log` on use."""
        self.stores[node_id].close_logs(flush=flush)

    def all_logs(self) -> Iterator[tuple[int, str, int, PartitionLog]]:
        """(node id, topic, partition, log) of every open replica."""
        for node_id, store in self.stores.items():
            for (topic, partition), plog in list(store.logs.items()):
                yield node_id, topic, partition, plog

    def apply_retention(self) -> int:
        return sum(store.apply_retention() for store in self.stores.values())

    def maybe_flush(self) -> None:
        for store in self.stores.values():
            store.maybe_flush()

    def close(self) -> None:
        """Close the nodes' own stores (not the broker's, when shared)."""
        if self.shared:
            return
        for store in self.stores.values():
            store.close()
