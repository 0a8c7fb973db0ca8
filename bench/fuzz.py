"""The long fuzzing campaign: minutes of hostile requests for every API and version served,
and of hostile HTTP requests to the control API, against one broker over real sockets.

Each Kafka case is a request built from the declarations with hostile field values, or a
byte mutation of one (sometimes sent with the original size prefix, so the size lies), on a
fresh connection; after each, a separate connection must still be answered (see
tests/fuzz/harness.py for the checks). Every case has a seed (``BASE:N``) printed when it
fails; the failing case's bytes, the seed and the reason are saved under ``--out``, and the
broker is restarted to go on. At the end: cases per outcome, failures, and whether a log
written before the campaign reads back the same.

    .venv/bin/python bench/fuzz.py [--minutes 5] [--seed 1] [--out .reports/fuzz] [--http-every 10]
    .venv/bin/python bench/fuzz.py --replay 1:12345      # run one case again, verbosely
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fuzz: generators and checks

import kafkalite  # noqa: E402
from kafkalite.broker.registry import ADVERTISED  # noqa: E402
from kafkalite.server.dispatch import load_handlers  # noqa: E402
from tests.fuzz.grammar import mutate, random_request  # noqa: E402
from tests.fuzz.harness import BrokerDown, Campaign, LogCollector, request_cls_of  # noqa: E402
from tests.fuzz.http_cases import random_http_request  # noqa: E402
from tests.fuzz.wire import SIZE, request_body  # noqa: E402

CANARY = [(b"k%d" % i, b"value-%d" % i * (i + 1)) for i in range(50)]


def kafka_case(seed: str) -> tuple[str, bytes, bytes | None, bool]:
    """(label, body, raw bytes to send instead of the framed body, well formed?)."""
    rng = random.Random(seed)
    api_key = rng.choice(sorted(ADVERTISED))
    lo, hi = ADVERTISED[api_key]
    version = rng.randint(lo, hi)
    cls = request_cls_of(api_key)
    body = request_body(random_request(rng, cls, version), version, correlation_id=rng.randint(0, 2**31 - 1))
    label = f"{cls.__name__} v{version} seed {seed}"
    if rng.random() < 0.5:
        return label, body, None, True
    mutated = mutate(rng, body)
    raw = SIZE.pack(len(body)) + mutated if rng.random() < 0.2 else None
    return "mutated " + label, mutated, raw, False


def start(logs: LogCollector) -> tuple[kafkalite.BrokerThread, Campaign]:
    broker = kafkalite.run_in_thread(partitions=2, http_port=0, journal_size=0)
    for topic in ("fuzz-a", "fuzz-b"):
        broker.create_topic(topic, partitions=2)
    broker.create_topic("canary", partitions=1)
    for key, value in CANARY:
        broker.produce("canary", value, key=key, partition=0)
    return broker, Campaign(broker.bootstrap_servers, logs)


def save(out: Path, seed: str, reason: str, body: bytes, raw: bytes | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    name = seed.replace(":", "_")
    (out / f"{name}.bin").write_bytes(raw if raw is not None else SIZE.pack(len(body)) + body)
    (out / f"{name}.json").write_text(json.dumps({"seed": seed, "reason": reason}, indent=1))
    print(f"FAILURE {seed}: {reason} (saved {out / name}.bin)", flush=True)


def http_case(broker: kafkalite.BrokerThread, seed: str) -> str | None:
    method, path, body = random_http_request(random.Random(seed))
    if path.startswith(("/v1/reset", "/v1/clock/advance")):
        return None  # they may delete the canary log (tests/fuzz/test_fuzz_http.py sends them)
    host, port = broker.info.http
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request(method, path, body=body, headers={"content-type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status >= 500:
            return f"HTTP {method} {path[:80]} {body[:80]!r} answered {response.status}"
    finally:
        connection.close()
    if path.startswith("/v1/faults") or path.startswith("/v1/reset") or path.startswith("/v1/clock"):
        clear = http.client.HTTPConnection(host, port, timeout=10)  # rules or a reset must not
        clear.request("DELETE", "/v1/faults")                       # stop the Kafka cases
        clear.getresponse().read()
        clear.close()
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    parser.add_argument("--out", type=Path, default=Path(".reports/fuzz"))
    parser.add_argument("--http-every", type=int, default=10, help="one HTTP case every N Kafka cases (0: none)")
    parser.add_argument("--replay", help="run the one case with this seed (BASE:N), logging at DEBUG")
    args = parser.parse_args()
    load_handlers()
    if args.replay:
        logging.basicConfig(level=logging.DEBUG)
        with LogCollector() as logs:
            broker, campaign = start(logs)
            with broker:
                label, body, raw, decodable = kafka_case(args.replay)
                print(label, campaign.send(body, label, raw=raw, decodable=decodable), campaign.failures)
        return 0
    print(f"seed {args.seed}; {args.minutes} minute(s); failures saved under {args.out}", flush=True)
    deadline = time.monotonic() + args.minutes * 60
    failures = 0
    n = 0
    with LogCollector() as logs:
        broker, campaign = start(logs)
        try:
            while time.monotonic() < deadline:
                n += 1
                seed = f"{args.seed}:{n}"
                if n % 1000 == 0:
                    print(f"{n} cases, {campaign.outcomes}, {failures} failure(s)", flush=True)
                if args.http_every and n % args.http_every == 0:
                    reason = http_case(broker, seed)
                    if reason:
                        failures += 1
                        save(args.out, seed, reason, b"", None)
                    continue
                label, body, raw, decodable = kafka_case(seed)
                seen = len(campaign.failures)
                errors = len(logs.internal_errors())
                try:
                    campaign.send(body, label, raw=raw, decodable=decodable)
                except BrokerDown as exc:
                    failures += 1
                    save(args.out, seed, str(exc), body, raw)
                    broker.stop()
                    broker, campaign = start(logs)
                    continue
                for reason in campaign.failures[seen:]:
                    failures += 1
                    save(args.out, seed, reason, body, raw)
                for record in logs.internal_errors()[errors:]:
                    failures += 1
                    trace = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
                    save(args.out, seed, f"internal error: {record.getMessage()}\n{trace}", body, raw)
            canary_ok = [(r.key, r.value) for r in broker.records("canary", 0)] == CANARY
        finally:
            campaign.close()
            broker.stop()
    print(f"done: {n} cases (seed {args.seed}), outcomes {campaign.outcomes}, {failures} failure(s); "
          f"canary log {'intact' if canary_ok else 'CHANGED'}")
    return 0 if failures == 0 and canary_ok else 1


if __name__ == "__main__":
    sys.exit(main())
