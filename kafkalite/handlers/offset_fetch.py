# OffsetFetch: v0-10
#
# Version notes:
# * v0: Kafka 3 read these offsets from ZooKeeper, so a KRaft broker (Kafka 3.9 without
#       ZooKeeper, as kafkalite) answers every requested partition with offset -1 and
#       UNSUPPORTED_VERSION; removed in Kafka 4.0
# * v1: offsets from __consumer_offsets; no top-level error, so group errors go on every
#       partition
# * v2: a null topic list asks for every committed offset of the group; top-level error_code
# * v3: throttle_time_ms
# * v5: committed_leader_epoch per partition
# * v6: flexible versions
# * v7: require_stable (KIP-447): a partition whose offset an open transaction is committing
#       answers UNSTABLE_OFFSET_COMMIT (the client retries until the transaction ends)
# * v8: several groups per request (KIP-709), each with its own error_code
# * v9: member_id and member_epoch per group (KIP-848 consumer groups: STALE_MEMBER_EPOCH,
#       UNKNOWN_MEMBER_ID unless both are left out); ignored for classic
#       groups, as Kafka does
# * v10: topics named by topic id (KIP-848); an id no topic has answers its partitions with
#        offset -1 and UNKNOWN_TOPIC_ID; all-topics answers name each topic by its id
#
# A partition without a committed offset answers offset -1, leader epoch -1, metadata "".
"""OffsetFetch: a group's committed offsets."""

from __future__ import annotations

from kafkalite.broker.registry import RequestContext, handles
from kafkalite.groups.requests import FetchedOffset
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestTopics,
    OffsetFetchResponse,
    OffsetFetchResponseGroup,
    OffsetFetchResponsePartition,
    OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
)


def _fetch_group(
    ctx: RequestContext,
    group_id: str | None,
    topics: list[tuple[str, list[int]]] | None,
    require_stable: bool,
    member_id: str | None = None,
    member_epoch: int = -1,
) -> tuple[int, list]:
    """(group error, [(topic, [FetchedOffset])]) for one group."""
    coordinator = ctx.broker.groups
    if group_id is None:
        return ErrorCode.INVALID_GROUP_ID, []
    not_here = coordinator.check_coordinator(group_id, ctx.node_id)
    if not_here is not None:
        return not_here, []
    refused = coordinator.check_offset_fetch(group_id, member_id, member_epoch)
    if refused is not None:
        return refused, []
    return ErrorCode.NONE, coordinator.fetch_offsets(group_id, topics, require_stable=require_stable)


def _by_id(ctx: RequestContext, topics: list[OffsetFetchRequestTopics], found: list) -> list:
    """v10: the fetched offsets of *topics* (named by id) in request order, those of ids no
    topic has answered UNKNOWN_TOPIC_ID."""
    fetched = iter(found)
    answered = []
    for t in topics:
        known = ctx.broker.cluster.topics_by_id.get(t.topic_id)
        if known is None:
            missing = [FetchedOffset(p, -1, -1, "", ErrorCode.UNKNOWN_TOPIC_ID) for p in t.partition_indexes]
            answered.append((t.topic_id, missing))
        else:
            answered.append((t.topic_id, next(fetched)[1]))
    return answered


def _with_ids(ctx: RequestContext, found: list) -> list:
    """v10, all topics: each topic named by its id (offsets of a topic gone are left out; a
    deleted topic's offsets are deleted with it)."""
    named = []
    for name, offsets in found:
        topic = ctx.broker.cluster.topic(name)
        if topic is not None:
            named.append((topic.topic_id, offsets))
    return named


@handles(ApiKey.OFFSET_FETCH, min_version=0, max_version=10)
async def offset_fetch(ctx: RequestContext, req: OffsetFetchRequest) -> OffsetFetchResponse:
    version = ctx.api_version
    if version == 0:
        return OffsetFetchResponse(topics=[
            OffsetFetchResponseTopic(name=t.name, partitions=[
                OffsetFetchResponsePartition(
                    partition_index=p, committed_offset=-1, metadata="", error_code=ErrorCode.UNSUPPORTED_VERSION
                )
                for p in t.partition_indexes
            ])
            for t in req.topics
        ])
    if version >= 8:
        by_id = version >= 10
        groups = []
        for g in req.groups:
            wanted = None
            if g.topics is not None and by_id:
                names = [ctx.broker.cluster.topics_by_id.get(t.topic_id) for t in g.topics]
                wanted = [(n.name, list(t.partition_indexes)) for n, t in zip(names, g.topics) if n is not None]
            elif g.topics is not None:
                wanted = [(t.name, list(t.partition_indexes)) for t in g.topics]
            error, found = _fetch_group(ctx, g.group_id, wanted, req.require_stable, g.member_id, g.member_epoch)
            if by_id and error is ErrorCode.NONE:
                found = _with_ids(ctx, found) if g.topics is None else _by_id(ctx, g.topics, found)
            groups.append(
                OffsetFetchResponseGroup(
                    group_id=g.group_id,
                    error_code=error,
                    topics=[
                        OffsetFetchResponseTopics(
                            **({"topic_id": topic} if by_id else {"name": topic}),
                            partitions=[
                                OffsetFetchResponsePartitions(
                                    partition_index=o.partition,
                                    committed_offset=o.offset,
                                    committed_leader_epoch=o.leader_epoch,
                                    metadata=o.metadata,
                                    error_code=o.error,
                                )
                                for o in offsets
                            ],
                        )
                        for topic, offsets in found
                    ],
                )
            )
        return OffsetFetchResponse(throttle_time_ms=0, groups=groups)

    wanted = None if req.topics is None else [(t.name, list(t.partition_indexes)) for t in req.topics]
    error, found = _fetch_group(ctx, req.group_id, wanted, version >= 7 and req.require_stable)
    if error is not ErrorCode.NONE and version < 2:
        # No top-level error before v2: every requested partition carries it.
        return OffsetFetchResponse(
            throttle_time_ms=0,
            topics=[
                OffsetFetchResponseTopic(
                    name=name,
                    partitions=[
                        OffsetFetchResponsePartition(
                            partition_index=p, committed_offset=-1, metadata="", error_code=error
                        )
                        for p in partitions
                    ],
                )
                for name, partitions in wanted or []
            ],
        )
    return OffsetFetchResponse(
        throttle_time_ms=0,
        error_code=error,
        topics=[
            OffsetFetchResponseTopic(
                name=topic,
                partitions=[
                    OffsetFetchResponsePartition(
                        partition_index=o.partition,
                        committed_offset=o.offset,
                        committed_leader_epoch=o.leader_epoch,
                        metadata=o.metadata,
                        error_code=o.error,
                    )
                    for o in offsets
                ],
            )
            for topic, offsets in found
        ],
    )
