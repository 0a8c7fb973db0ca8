"""What OffsetCommit and TxnOffsetCommit share: sorting the requested partitions into those
that do not exist (answered UNKNOWN_TOPIC_OR_PARTITION at once) and those the group
coordinator commits, and putting the answers back in request order."""

from __future__ import annotations

from typing import Any, Callable

from kafkalite.broker.cluster import ClusterState
from kafkalite.groups.requests import CommitRequest
from kafkalite.wire.error_codes import ErrorCode

TopicPartition = tuple[str, int]


def split_commits(cluster: ClusterState, topics: list[Any]) -> tuple[dict[TopicPartition, ErrorCode], list[CommitRequest]]:
    """(answers for partitions that do not exist, commits for the others) of a request's
    topics (each with ``name`` and ``partitions`` of partition_index, committed_offset,
    committed_leader_epoch, committed_metadata)."""
    answers: dict[TopicPartition, ErrorCode] = {}
    valid: list[CommitRequest] = []
    for topic in topics:
        known = cluster.topic(topic.name)
        for p in topic.partitions:
            if known is None or not 0 <= p.partition_index < len(known.partitions):
                answers[(topic.name, p.partition_index)] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else:
                valid.append(
                    CommitRequest(
                        topic.name, p.partition_index, p.committed_offset, p.committed_leader_epoch, p.committed_metadata,
                        # OffsetCommit v1's per-partition timestamp; TxnOffsetCommit has none.
                        getattr(p, "commit_timestamp", -1),
                    )
                )
    return answers, valid


def answer_in_order(
    topics: list[Any], answers: dict[TopicPartition, ErrorCode], topic_cls: type, partition_cls: type
) -> list[Any]:
    """The response's topics, one per requested topic, each partition with its answer."""
    return [
        topic_cls(
            name=topic.name,
            partitions=[
                partition_cls(partition_index=p.partition_index, error_code=answers[(topic.name, p.partition_index)])
                for p in topic.partitions
            ],
        )
        for topic in topics
    ]


def commit_all(
    answers: dict[TopicPartition, ErrorCode],
    valid: list[CommitRequest],
    not_here: ErrorCode | None,
    commit: Callable[[list[CommitRequest]], list[ErrorCode]],
) -> None:
    """Fill *answers* for the *valid* commits: *not_here* for all if the coordinator cannot
    serve the group, else what *commit* answers for each."""
    if not valid:
        return
    errors = [not_here] * len(valid) if not_here is not None else commit(valid)
    for c, error in zip(valid, errors):
        answers[(c.topic, c.partition)] = error
