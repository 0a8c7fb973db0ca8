"""The broker's counters, in the Prometheus text format (served by the HTTP API at /metrics).

Counted as requests are served (a few dict updates per request, always on):

* requests per API, and error codes answered per API and code (every non-zero
  ``error_code`` of a response, top-level and per topic / partition, one per occurrence).
  Finding the codes walks the whole response (a Fetch of many partitions, a Metadata of many
  topics), so it is done only where something can read the figures: with the HTTP API or
  the journal on (``count_errors``); otherwise the family is rendered empty;
* bytes received and sent on Kafka connections (frames with their size prefix), open
  connections and connections accepted.

Computed when rendered: the lag of every committed offset (per group, topic and partition,
the partition's high watermark minus the committed offset), so it costs nothing until asked.

Counters only go up, as Prometheus expects: `Broker.reset` leaves them alone.
Used only in the broker's trio thread.
"""

from __future__ import annotations

from typing import Any, Iterator

from kafkalite.broker.message_facts import error_codes
from kafkalite.wire.error_codes import ErrorCode

PREFIX = "kafkalite_"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: Any) -> str:
    return "{" + ",".join(f'{name}="{_escape(str(value))}"' for name, value in labels.items()) + "}"


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return "UNKNOWN"


class Metrics:
    """Counters of one broker; *broker* (its `kafkalite.broker.state.Broker`, not imported:
    the broker imports this module) is read at render time for the lag."""

    def __init__(self, broker: Any = None, *, count_errors: bool = True) -> None:
        self.broker = broker
        self.count_errors = count_errors
        self.requests: dict[str, int] = {}
        self.errors: dict[tuple[str, int], int] = {}
        self.bytes_received = 0
        self.bytes_sent = 0
        self.connections_open = 0
        self.connections_accepted = 0

    # -- counting (the server calls these) -----------------------------------------------

    def request(self, api: str, response: Any) -> None:
        """Count one request of *api* and the error codes of its *response* (None: none sent)."""
        requests = self.requests
        requests[api] = requests.get(api, 0) + 1
        if response is not None and self.count_errors:
            codes = error_codes(response)
            if codes:
                errors = self.errors
                for code in codes:
                    key = (api, code)
                    errors[key] = errors.get(key, 0) + 1

    def connection_opened(self) -> None:
        self.connections_open += 1
        self.connections_accepted += 1

    def connection_closed(self) -> None:
        self.connections_open -= 1

    # -- reading -------------------------------------------------------------------------

    def lags(self) -> Iterator[tuple[str, str, int, int]]:
        """(group, topic, partition, lag) of every committed offset of a live group, lag the
        partition's high watermark minus the committed offset (never below 0)."""
        broker = self.broker
        if broker is None or broker.cluster.topic("__consumer_offsets") is None:
            return  # no group ever committed: do not set the coordinator up just to look
        from kafkalite.groups.state import GroupState

        for group_id, group in sorted(broker.groups.groups.items()):
            if group.is_in(GroupState.DEAD):
                continue
            for (topic, partition), offset in sorted(group.offsets.items()):
                plog = broker.log_for(topic, partition)
                if plog is None:
                    continue
                yield group_id, topic, partition, max(plog.high_watermark - offset.committed_offset, 0)

    def render_prometheus(self) -> str:
        """Every metric in the Prometheus text exposition format (version 0.0.4)."""
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str, samples: list[tuple[str, Any]]) -> None:
            lines.append(f"# HELP {PREFIX}{name} {help_text}")
            lines.append(f"# TYPE {PREFIX}{name} {kind}")
            for labels, value in samples:
                lines.append(f"{PREFIX}{name}{labels} {value}")

        family(
            "requests_total", "counter", "Kafka requests served, by API.",
            [(_labels(api=api), n) for api, n in sorted(self.requests.items())],
        )
        family(
            "errors_total", "counter",
            "Error codes answered, by API and code (top-level and per topic or partition).",
            [
                (_labels(api=api, code=code, error=_error_name(code)), n)
                for (api, code), n in sorted(self.errors.items())
            ],
        )
        family("received_bytes_total", "counter", "Bytes received on Kafka connections.", [("", self.bytes_received)])
        family("sent_bytes_total", "counter", "Bytes sent on Kafka connections.", [("", self.bytes_sent)])
        family("connections", "gauge", "Kafka connections open now.", [("", self.connections_open)])
        family("connections_total", "counter", "Kafka connections accepted.", [("", self.connections_accepted)])
        family(
            "consumer_group_lag", "gauge",
            "High watermark minus the group's committed offset, per partition.",
            [(_labels(group=g, topic=t, partition=p), lag) for g, t, p, lag in self.lags()],
        )
        return "\n".join(lines) + "\n"


__all__ = ["Metrics"]
