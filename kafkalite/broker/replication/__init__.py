"""Replicas of the partitions on the emulated broker nodes: their logs, the followers that
copy the leaders, high watermarks and in-sync replica sets (`ReplicaManager`)."""

from kafkalite.broker.replication.manager import ReplicaManager
from kafkalite.broker.replication.stores import NodeStores, node_dir

__all__ = ["NodeStores", "ReplicaManager", "node_dir"]
