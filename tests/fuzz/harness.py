"""Sends fuzz cases to a running broker over real sockets and checks the broker after each.

A case is one request frame on a fresh connection. Its outcome is ``answered`` (a response
frame with the request's correlation id came back), ``closed`` (the broker closed the
connection, and logged why: a record naming the connection's address) or ``pending`` (no
answer yet: a long poll, a join waiting for its rebalance). After every case a separate,
long-lived connection must still be answered: a case that crashed the broker or blocked its
event loop fails there. `Campaign.failures` lists what went wrong, with the case's seed.
"""

from __future__ import annotations

import logging
import struct
import threading
from typing import Any

from kafkalite.wire.messages import all_apis

from tests.fuzz.wire import SIZE, api_versions, connect, decode_response, frame, read_frame


_HEADER = struct.Struct(">hhi")


class LogCollector(logging.Handler):
    """Keeps the broker's log records (its thread and ours) for the checks."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            self.records.append(record)

    def mentioning(self, text: str) -> list[logging.LogRecord]:
        with self._lock:
            return [r for r in self.records if text in r.getMessage()]

    def internal_errors(self) -> list[logging.LogRecord]:
        """Records with a traceback: an exception nobody expected."""
        with self._lock:
            return [r for r in self.records if r.exc_info and r.name.startswith("kafkalite")]

    def __enter__(self) -> LogCollector:
        logger = logging.getLogger("kafkalite")
        self._level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("kafkalite")
        logger.removeHandler(self)
        logger.setLevel(self._level)


class BrokerDown(AssertionError):
    """The broker stopped answering a connection that had nothing to do with the case."""


class Campaign:
    def __init__(self, bootstrap: str, logs: LogCollector, case_timeout: float = 0.25) -> None:
        self.bootstrap = bootstrap
        self.logs = logs
        self.case_timeout = case_timeout
        self.canary = connect(bootstrap)
        self.canary_correlation = 0
        self.outcomes: dict[str, int] = {"answered": 0, "closed": 0, "pending": 0}
        self.failures: list[str] = []

    def close(self) -> None:
        self.canary.close()

    def send(
        self, body: bytes, label: str, *, raw: bytes | None = None, decodable: bool = False, frames: int = 1
    ) -> str:
        """Send one case: *body* framed with its true size, or the bytes *raw* as they are.

        *decodable*: the request is well formed, so an answer must decode as its response.
        *frames*: how many requests *raw* holds; the answers to all of them are waited for
        (or the close), so that the broker handles every one before the next case.
        """
        with connect(self.bootstrap) as sock:
            peer = "%s:%d" % sock.getsockname()[:2]
            try:
                sock.sendall(raw if raw is not None else frame(body))
                sock.settimeout(self.case_timeout)
                answer = read_frame(sock)
                outcome = "closed" if answer is None else "answered"
                for _ in range(frames - 1):
                    if answer is None or read_frame(sock) is None:
                        break
            except (BrokenPipeError, ConnectionResetError):
                outcome, answer = "closed", None
            except TimeoutError:
                outcome, answer = "pending", None
        self.outcomes[outcome] += 1
        if answer is not None and len(body) >= 8:
            self._check_answer(answer, body, label, decodable)
        if outcome == "closed" and not self.logs.mentioning(peer):
            self.failures.append(f"{label}: connection {peer} closed with no logged reason")
        self.check_alive(label)
        return outcome

    def _check_answer(self, answer: bytes, body: bytes, label: str, decodable: bool) -> None:
        api_key, version, correlation_id = _HEADER.unpack_from(body)
        if SIZE.unpack_from(answer)[0] != correlation_id:
            self.failures.append(f"{label}: answered with correlation id {SIZE.unpack_from(answer)[0]}, asked {correlation_id}")
            return
        if decodable and api_key != 18:
            request_cls = all_apis()[api_key].request
            try:
                decode_response(answer, request_cls, version, correlation_id)
            except Exception as exc:  # noqa: BLE001 - any failure to decode is the finding
                self.failures.append(f"{label}: the answer does not decode: {exc!r}")

    def check_alive(self, label: str) -> None:
        self.canary_correlation += 1
        try:
            self.canary.sendall(api_versions(self.canary_correlation))
            self.canary.settimeout(10)
            answer = read_frame(self.canary)
        except OSError as exc:
            raise BrokerDown(f"after {label}: the canary connection failed: {exc!r}") from exc
        if answer is None or SIZE.unpack_from(answer)[0] != self.canary_correlation:
            raise BrokerDown(f"after {label}: the canary connection was not answered")


def request_cls_of(api_key: int) -> Any:
    return all_apis()[api_key].request


__all__ = ["BrokerDown", "Campaign", "LogCollector", "request_cls_of"]
