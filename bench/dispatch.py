"""The broker's own cost per request, without sockets or clients: what a hook on the request
path (fault rules, the journal, metrics, the trace) adds.

    .venv/bin/python bench/dispatch.py                # this checkout
    .venv/bin/python bench/dispatch.py --rounds 9     # more rounds, steadier minimum

Runs `kafkalite.server.dispatch.dispatch` in-process on an in-memory broker for a Produce of
10 x 100 B records (v9, acks=1) and a Metadata of one topic (v12), and prints the best
microseconds per request over several rounds (the minimum is the least disturbed by other
work on the machine), for each mode the tree has: no rule and the journal off (what a broker
pays by default), the journal on, and one fault rule that never matches (every request then
goes through the rule matcher), and the ACL authorizer on with 21 topic ACLs, the client allowed
(every request is checked first). A mode the tree lacks (an older checkout) is left out, so the
same script measures before and after a change.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import attrs
import trio

from kafkalite.broker.cluster import BrokerNode
from kafkalite.broker.settings import BrokerConfig
from kafkalite.broker.state import Broker
from kafkalite.server.dispatch import dispatch, load_handlers
from kafkalite.wire.headers import RequestHeader, write_request_header
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalite.wire.records import NewRecord, build_batch
from kafkalite.wire.schema import encode_into, is_flexible

TOPIC = "bench"


def frame(request: Any, version: int) -> bytes:
    out = bytearray()
    cls = type(request)
    write_request_header(out, RequestHeader(cls.__kafka_api_key__, version, 1, "bench"), is_flexible(cls, version))
    encode_into(out, request, version)
    return bytes(out)


def produce_frame() -> bytes:
    records = build_batch([NewRecord(None, b"x" * 100, timestamp=int(time.time() * 1000)) for _ in range(10)])
    partition = PartitionProduceData(index=0, records=records)
    request = ProduceRequest(acks=1, timeout_ms=1000, topic_data=[TopicProduceData(name=TOPIC, partition_data=[partition])])
    return frame(request, 9)


def metadata_frame() -> bytes:
    return frame(MetadataRequest(topics=[MetadataRequestTopic(name=TOPIC)], allow_auto_topic_creation=False), 12)


def new_broker() -> Broker:
    broker = Broker.create(BrokerConfig(memory=True))
    broker.cluster.set_node(BrokerNode(0, "localhost", 9092))
    broker.create_topic(TOPIC, 1, 1)
    return broker


def modes(broker: Broker) -> dict[str, Callable[[], None]]:
    """Mode name -> what sets the broker up for it (each undoes the previous one's setting)."""
    found: dict[str, Callable[[], None]] = {}
    journal = getattr(broker, "journal", None)
    faults = getattr(broker, "faults", None)
    acls = getattr(broker, "acls", None)

    def plain() -> None:
        if journal is not None:
            journal.resize(0)
        if faults is not None:
            faults.clear()
        if acls is not None:
            acls.clear()
            broker.config = attrs.evolve(broker.config, acls=False)

    found["default (no rule, journal off)"] = plain
    if journal is not None:

        def journal_on() -> None:
            plain()
            journal.resize(10_000)

        found["journal on (10,000 entries)"] = journal_on
    if faults is not None:

        def one_rule() -> None:
            plain()
            faults.add(api="Produce", client_id="nobody", delay_ms=1, always=True)
            faults.add(api="Metadata", client_id="nobody", delay_ms=1, always=True)

        found["a rule that never matches"] = one_rule
    if acls is not None:
        from kafkalite.broker.acls import AclBinding

        def authorizer_on() -> None:
            plain()
            broker.config = attrs.evolve(broker.config, acls=True)
            others = [AclBinding(resource_type="TOPIC", resource_name=f"other-{i}", pattern_type="LITERAL",
                                 principal="User:bob", host="*", operation="READ", permission="ALLOW")
                      for i in range(20)]
            acls.add([*others, AclBinding(resource_type="TOPIC", resource_name=TOPIC, pattern_type="LITERAL",
                                          principal="User:ANONYMOUS", host="*", operation="WRITE",
                                          permission="ALLOW")])

        found["ACLs on (21 ACLs, allowed)"] = authorizer_on
    return found


async def per_request_us(broker: Broker, data: bytes, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await dispatch(broker, data, 0, "127.0.0.1:1")
    return (time.perf_counter() - started) / count * 1e6


async def main(rounds: int, count: int) -> None:
    load_handlers()
    broker = new_broker()
    frames = {"Produce 10 x 100 B": produce_frame(), "Metadata 1 topic": metadata_frame()}
    setups = modes(broker)
    best: dict[tuple[str, str], float] = {}
    for _ in range(rounds):  # interleaved, so that a busy moment hits every mode alike
        for mode, setup in setups.items():
            setup()
            for name, data in frames.items():
                us = await per_request_us(broker, data, count)
                best[mode, name] = min(best.get((mode, name), us), us)
    width = max(len(m) for m in setups)
    print(f"{'mode':<{width}}  " + "  ".join(f"{name:>20}" for name in frames))
    for mode in setups:
        cells = "  ".join(f"{best[mode, name]:>17.1f} us" for name in frames)
        print(f"{mode:<{width}}  {cells}")
    broker.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="rounds; the best of them is printed (default 7)")
    parser.add_argument("--count", type=int, default=2000, help="requests per round and mode (default 2000)")
    args = parser.parse_args()
    trio.run(main, args.rounds, args.count)
