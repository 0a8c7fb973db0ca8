"""Fuzzing every API and version served, over real sockets, in seconds.

For each API key: every served version gets requests built from its declaration with hostile
field values (`tests.fuzz.grammar.random_request`) and byte-mutated frames of them
(`mutate`), some sent with their original size prefix so the size lies. The broker must
answer or close (with a logged reason) each, keep answering another connection after each,
log no internal error, and leave a log written before the campaign as it was.
KAFKALITE_FUZZ_SEED picks another seed (bench/fuzz.py runs the long campaign).
"""

from __future__ import annotations

import os
import random
from typing import Iterator

import pytest

import kafkalite
from kafkalite.broker.registry import ADVERTISED
from kafkalite.server.dispatch import load_handlers

from tests.fuzz.grammar import mutate, random_request
from tests.fuzz.harness import Campaign, LogCollector, request_cls_of
from tests.fuzz.wire import SIZE, request_body

SEED = int(os.environ.get("KAFKALITE_FUZZ_SEED", "0"))
CASES_PER_VERSION = 3  # grammar cases; as many mutated ones

load_handlers()
CANARY = [(f"k{i}".encode(), f"value-{i}".encode() * (i + 1)) for i in range(20)]


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[tuple[kafkalite.BrokerThread, Campaign, LogCollector]]:
    with LogCollector() as logs, kafkalite.run_in_thread(partitions=2) as broker:
        for topic in ("fuzz-a", "fuzz-b"):
            broker.create_topic(topic, partitions=2)
        broker.create_topic("canary", partitions=1)
        for key, value in CANARY:
            broker.produce("canary", value, key=key, partition=0)
        campaign = Campaign(broker.bootstrap_servers, logs)
        try:
            yield broker, campaign, logs
            # After the whole campaign: the log written before reads back the same.
            assert [(r.key, r.value) for r in broker.records("canary", 0)] == CANARY
        finally:
            campaign.close()


@pytest.mark.parametrize("api_key", sorted(ADVERTISED))
def test_fuzz_api(api_key: int, fuzzed: tuple[kafkalite.BrokerThread, Campaign, LogCollector]) -> None:
    _broker, campaign, logs = fuzzed
    lo, hi = ADVERTISED[api_key]
    cls = request_cls_of(api_key)
    before = len(logs.internal_errors())
    failures_before = len(campaign.failures)
    for version in range(lo, hi + 1):
        for case in range(CASES_PER_VERSION):
            seed = f"{SEED}:{api_key}:{version}:{case}"
            rng = random.Random(seed)
            body = request_body(random_request(rng, cls, version), version, correlation_id=rng.randint(0, 2**31 - 1))
            campaign.send(body, f"{cls.__name__} v{version} seed {seed}", decodable=True)
            mutated = mutate(rng, body)
            if rng.random() < 0.2:  # the size prefix of the original frame: it lies now
                campaign.send(mutated, f"mutated {cls.__name__} v{version} seed {seed}", raw=SIZE.pack(len(body)) + mutated)
            else:
                campaign.send(mutated, f"mutated {cls.__name__} v{version} seed {seed}")
    errors = logs.internal_errors()[before:]
    assert not errors, [f"{r.getMessage()}" for r in errors]
    assert campaign.failures[failures_before:] == []
