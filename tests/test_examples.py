"""Every program in examples/ runs, and says what it is meant to show."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(*args: str, cwd: Path = EXAMPLES) -> str:
    result = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_application_tested_with_the_fixture() -> None:
    out = run("-m", "pytest", "-q", cwd=EXAMPLES / "app_test")
    assert "2 passed" in out


def test_keyed_producer_keeps_order_per_key() -> None:
    out = run("keyed_producer.py")
    assert "key -> partition" in out
    assert out.count("in order") == 4
    assert "every key kept its order inside its partition" in out


def test_consumer_group_failure_and_takeover() -> None:
    out = run("consumer_group.py")
    assert "each consumer owns one partition" in out
    assert "consumer-4 crashes (kill -9)" in out
    assert "<- taken over from consumer-4" in out
    assert "all 40 records were processed exactly once, 5 of them by consumer-4" in out


def test_consumer_lag_goes_up_and_down() -> None:
    out = run("consumer_lag.py")
    assert "CURRENT-OFFSET LOG-END-OFFSET LAG" in out  # the groups tool at the peak
    assert "lag rose to 180 while the producer outran the consumer, and fell back to 0" in out


def test_broker_failure_moves_leaders_shrinks_and_regrows_the_isr() -> None:
    out = run("broker_failure.py")
    assert "broker 1 crashes (kill -9)" in out
    assert "leaders moved off broker 1, the ISR shrank to two" in out
    assert "orders-1 L" in out.split("leaders moved off broker 1")[1].split("broker 1 starts")[0]
    assert "leader 2, ISR [2, 0]" in out  # orders-1 moved to its next in-sync replica
    assert "broker 1 caught up: back in every ISR" in out
    assert "preferred leader election: each partition led by its first replica again" in out
    assert out.rstrip().endswith("all 60 orders can be read back: nothing acknowledged was lost")


def test_schema_evolution_through_the_registry() -> None:
    out = run("schema_evolution.py")
    assert "email without a default: refused, HTTP 409 error 409" in out
    assert "email with a default: accepted as version 2" in out
    assert "offset 2: schema id 2: {'name': 'cid', 'email': 'cid@example.org'}" in out
    assert "old and new records read alike" in out
