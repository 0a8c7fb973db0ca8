"""A small blocking Kafka client for the CLI tools: kafkalite's own codec over a plain socket.

It works against any Kafka-compatible broker, not only kafkalite: each connection asks
ApiVersions first and every request is sent at the highest version both sides know, capped
at the versions the tools build requests for (`MAX_VERSIONS`: the last ones that name topics
rather than topic ids). `Client` adds what a tool needs on top: bootstrap, Metadata, the
leader of a partition, the coordinator of a group, and errors turned into `KafkaError`
with Kafka's name and description.

No client library is needed at run time: only ``kafkalite.wire``.
"""

from __future__ import annotations

import importlib
import os
import socket
import struct
from typing import Any, Iterable

from kafkalite.wire.headers import RequestHeader, read_response_header, write_request_header
from kafkalite.wire.schema import declared_message, decode, encode_into, is_flexible

DEFAULT_BOOTSTRAP = "localhost:9092"
CLIENT_ID = "kafkalite-cli"
DEFAULT_TIMEOUT_S = 10.0

# API key -> (module in kafkalite.wire.messages, highest version the tools speak).
APIS: dict[int, tuple[str, int]] = {
    0: ("produce", 9),
    1: ("fetch", 12),  # v13+ names topics by id
    2: ("list_offsets", 7),
    3: ("metadata", 12),
    8: ("offset_commit", 8),
    9: ("offset_fetch", 7),  # v8+ batches groups
    10: ("find_coordinator", 3),  # v4+ batches keys
    15: ("describe_groups", 5),
    16: ("list_groups", 4),
    18: ("api_versions", 3),
    19: ("create_topics", 7),
    20: ("delete_topics", 5),  # v6 names topics by name or id
    32: ("describe_configs", 4),
    42: ("delete_groups", 2),
}
MAX_VERSIONS = {key: top for key, (_module, top) in APIS.items()}

_size = struct.Struct(">i")


class ToolError(Exception):
    """Something the user should read: printed as one line, the tool exits with status 1."""


def error_text(code: int, message: str | None = None) -> str:
    """``NAME: message`` (the broker's message, else Kafka's description of the code)."""
    from kafkalite.wire.error_codes import ErrorCode

    try:
        error = ErrorCode(code)
        name, description = error.name, error.description
    except ValueError:
        name, description = f"error {code}", "unknown error code"
    return f"{name}: {message or description}"


class KafkaError(ToolError):
    """A broker answered with a non-zero error code."""

    def __init__(self, code: int, where: str, message: str | None = None) -> None:
        self.code = code
        super().__init__(f"{where}: {error_text(code, message)}")


def message_classes(api_key: int) -> tuple[type, type]:
    """The (request, response) classes of *api_key*, importing only their module (every
    declared message module for an API the tools do not list)."""
    if api_key in APIS:
        importlib.import_module(f"kafkalite.wire.messages.{APIS[api_key][0]}")
    request = declared_message(api_key, "request")
    response = declared_message(api_key, "response")
    if request is None or response is None:
        from kafkalite.wire.messages import all_apis

        api = all_apis()[api_key]
        request, response = api.request, api.response
    return request, response


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` (``[v6addr]:port`` for IPv6) -> (host, port).

    Raises:
        ToolError: not of that form.
    """
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ToolError(f"{text!r} is not a HOST:PORT address")
    return host, int(port)


def parse_bootstrap(text: str) -> list[tuple[str, int]]:
    """A ``host:port[,host:port...]`` list, as Kafka's tools take it."""
    addresses = [parse_address(part) for part in text.split(",") if part.strip()]
    if not addresses:
        raise ToolError("--bootstrap-server needs at least one HOST:PORT")
    return addresses


def default_bootstrap() -> str:
    return os.environ.get("KAFKALITE_BOOTSTRAP_SERVER") or DEFAULT_BOOTSTRAP


class Connection:
    """One TCP connection to one broker; requests are sent one at a time.

    Raises `ToolError` when it cannot connect. Close with `close` (or use ``with``).
    """

    def __init__(self, host: str, port: int, *, timeout: float = DEFAULT_TIMEOUT_S, client_id: str = CLIENT_ID):
        self.host, self.port, self.timeout, self.client_id = host, port, timeout, client_id
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise ToolError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._correlation_id = 0
        self.api_versions: dict[int, tuple[int, int]] = {}

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- framing ---------------------------------------------------------------------------

    def _recv_exactly(self, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            try:
                data = self._sock.recv(min(size - len(chunks), 1 << 20))
            except socket.timeout:
                raise ToolError(f"{self.address} did not answer within {self.timeout:g} s") from None
            except OSError as exc:
                raise ToolError(f"{self.address}: {exc.strerror or exc}") from None
            if not data:
                raise ToolError(f"{self.address} closed the connection")
            chunks += data
        return bytes(chunks)

    def send(self, request: Any, version: int) -> int:
        """Send *request* at *version*; return its correlation id."""
        cls = type(request)
        self._correlation_id += 1
        out = bytearray(4)
        header = RequestHeader(cls.__kafka_api_key__, version, self._correlation_id, self.client_id)
        write_request_header(out, header, is_flexible(cls, version))
        encode_into(out, request, version)
        _size.pack_into(out, 0, len(out) - 4)
        try:
            self._sock.sendall(out)
        except OSError as exc:
            raise ToolError(f"{self.address}: {exc.strerror or exc}") from None
        return self._correlation_id

    def receive(self, api_key: int, version: int, correlation_id: int, *, timeout: float | None = None) -> Any:
        _request_cls, response_cls = message_classes(api_key)
        self._sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            size = _size.unpack(self._recv_exactly(4))[0]
            frame = self._recv_exactly(size)
        finally:
            self._sock.settimeout(self.timeout)
        flexible_header = is_flexible(response_cls, version) and api_key != 18
        corr, pos = read_response_header(frame, flexible_header)
        if corr != correlation_id:
            raise ToolError(f"{self.address} answered correlation id {corr}, expected {correlation_id}")
        response, _end = decode(response_cls, version, frame, pos)
        return response

    def request(self, request: Any, version: int | None = None, *, timeout: float | None = None) -> Any:
        """Send *request* (at the negotiated version unless given) and return the response."""
        api_key = type(request).__kafka_api_key__
        if version is None:
            version = self.version_for(api_key)
        correlation_id = self.send(request, version)
        return self.receive(api_key, version, correlation_id, timeout=timeout)

    # -- versions --------------------------------------------------------------------------

    def negotiate(self) -> Any:
        """Ask ApiVersions (v3, or v0 when the broker is older); return the response.

        Raises:
            KafkaError: the broker answered with an error.
        """
        request_cls, _ = message_classes(18)
        response = self.request(
            request_cls(client_software_name="kafkalite-cli", client_software_version="0.1.0"), 3
        )
        if response.error_code == 35:  # UNSUPPORTED_VERSION: it answered in the v0 layout
            response = self.request(request_cls(), 0)
        if response.error_code:
            raise KafkaError(response.error_code, f"ApiVersions from {self.address}")
        self.api_versions = {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}
        return response

    def version_for(self, api_key: int) -> int:
        """The version to send *api_key* at: the highest both sides know.

        Raises:
            ToolError: the broker does not serve the API in any version the tools speak.
        """
        if not self.api_versions and api_key != 18:
            self.negotiate()
        request_cls, _ = message_classes(api_key)
        ours_lo = request_cls.__kafka_valid__.lo
        ours_hi = MAX_VERSIONS.get(api_key, request_cls.__kafka_valid__.hi)
        theirs = self.api_versions.get(api_key)
        if api_key == 18 and theirs is None:
            return 3
        name = request_cls.__name__[: -len("Request")]
        if theirs is None:
            raise ToolError(f"{self.address} does not serve {name}")
        lo, hi = max(ours_lo, theirs[0]), min(ours_hi, theirs[1])
        if lo > hi:
            raise ToolError(
                f"{self.address} serves {name} v{theirs[0]}-{theirs[1]}; the tools speak v{ours_lo}-{ours_hi}"
            )
        return hi


class Client:
    """The cluster behind a bootstrap list: metadata, leaders, coordinators.

    Connections are opened on first use and closed by `close` (or ``with``).
    """

    def __init__(self, bootstrap: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout = timeout
        self._bootstrap = parse_bootstrap(bootstrap)
        self._nodes: dict[int, tuple[str, int]] = {}
        self._connections: dict[int, Connection] = {}
        self._leaders: dict[tuple[str, int], int] = {}
        self.cluster_id: str | None = None
        self.controller_id = -1
        self.bootstrap_connection = self._connect_bootstrap()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.bootstrap_connection.close()
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def _connect_bootstrap(self) -> Connection:
        errors = []
        for host, port in self._bootstrap:
            try:
                connection = Connection(host, port, timeout=self.timeout)
            except ToolError as exc:
                errors.append(str(exc))
                continue
            connection.negotiate()
            return connection
        raise ToolError("; ".join(errors))

    # -- metadata --------------------------------------------------------------------------

    def metadata(self, topics: Iterable[str] | None = None, *, allow_auto_topic_creation: bool = False) -> Any:
        """Metadata of *topics* (every topic when None); refreshes nodes and leaders."""
        from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic

        wanted = None if topics is None else [MetadataRequestTopic(name=t) for t in topics]
        response = self.bootstrap_connection.request(
            MetadataRequest(topics=wanted, allow_auto_topic_creation=allow_auto_topic_creation)
        )
        self._nodes = {b.node_id: (b.host, b.port) for b in response.brokers}
        self.cluster_id = response.cluster_id
        self.controller_id = response.controller_id
        for t in response.topics:
            for p in t.partitions:
                if t.error_code == 0 and t.name is not None:
                    self._leaders[(t.name, p.partition_index)] = p.leader_id
        return response

    @property
    def nodes(self) -> dict[int, tuple[str, int]]:
        if not self._nodes:
            self.metadata([])
        return self._nodes

    def connection(self, node_id: int) -> Connection:
        """A connection to broker *node_id* at its advertised address."""
        connection = self._connections.get(node_id)
        if connection is not None:
            return connection
        if node_id not in self.nodes:
            self.metadata([])
        address = self._nodes.get(node_id)
        if address is None:
            raise ToolError(f"the cluster has no broker {node_id}")
        host, port = address
        if (host, port) == (self.bootstrap_connection.host, self.bootstrap_connection.port):
            return self.bootstrap_connection
        try:
            connection = Connection(host, port, timeout=self.timeout)
        except ToolError as exc:
            raise ToolError(
                f"{exc} (broker {node_id}, as advertised in Metadata: check the broker's advertised "
                "host and port, e.g. kafkalite serve --advertised-host)"
            ) from None
        connection.negotiate()
        self._connections[node_id] = connection
        return connection

    def all_connections(self) -> list[Connection]:
        return [self.connection(node_id) for node_id in sorted(self.nodes)]

    def leader(self, topic: str, partition: int) -> int:
        """The node id leading *topic*-*partition*.

        Raises:
            ToolError: the topic or partition does not exist, or has no leader.
        """
        node = self._leaders.get((topic, partition))
        if node is None:
            response = self.metadata([topic])
            check_topic(response, topic)
            node = self._leaders.get((topic, partition))
            if node is None:
                raise ToolError(f"topic {topic} has no partition {partition}")
        if node < 0:
            raise ToolError(f"{topic}-{partition} has no leader")
        return node

    def partitions(self, topic: str) -> list[int]:
        """The partition indexes of *topic*. Raises `ToolError` if it does not exist."""
        response = self.metadata([topic])
        t = check_topic(response, topic)
        return sorted(p.partition_index for p in t.partitions)

    def coordinator(self, key: str, *, transactional: bool = False) -> Connection:
        """A connection to the coordinator of group *key*, or of transactional id *key*
        (FindCoordinator key type 0 or 1)."""
        return self.connection(self.coordinator_id(key, transactional=transactional))

    def coordinator_id(self, key: str, *, transactional: bool = False) -> int:
        """The node id of the coordinator of group (or transactional id) *key*."""
        from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest

        response = self.bootstrap_connection.request(FindCoordinatorRequest(key=key, key_type=int(transactional)))
        if response.error_code:
            what = "transactional id" if transactional else "group"
            raise KafkaError(response.error_code, f"FindCoordinator for {what} {key}", response.error_message)
        if response.node_id not in self.nodes:
            self._nodes[response.node_id] = (response.host, response.port)
        return response.node_id

    # -- offsets ---------------------------------------------------------------------------

    def list_offsets(self, topic: str, partitions: Iterable[int], timestamp: int) -> dict[int, int]:
        """partition -> offset for *timestamp* (-1 latest, -2 earliest, else ms; -1 when no
        record is that recent), asking each partition's leader."""
        from kafkalite.wire.messages.list_offsets import ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic

        by_leader: dict[int, list[int]] = {}
        for p in partitions:
            by_leader.setdefault(self.leader(topic, p), []).append(p)
        result = {}
        for node, indexes in by_leader.items():
            request = ListOffsetsRequest(
                replica_id=-1,
                topics=[ListOffsetsTopic(name=topic, partitions=[
                    ListOffsetsPartition(partition_index=p, timestamp=timestamp) for p in indexes
                ])],
            )
            response = self.connection(node).request(request)
            for t in response.topics:
                for p in t.partitions:
                    if p.error_code:
                        raise KafkaError(p.error_code, f"ListOffsets {topic}-{p.partition_index}")
                    result[p.partition_index] = p.offset
        return result


def check_topic(metadata: Any, topic: str) -> Any:
    """The topic's entry in a Metadata response. Raises `KafkaError` / `ToolError`."""
    for t in metadata.topics:
        if t.name == topic:
            if t.error_code:
                if t.error_code == 3:
                    raise ToolError(f"topic {topic!r} does not exist")
                raise KafkaError(t.error_code, f"topic {topic}")
            return t
    raise ToolError(f"topic {topic!r} does not exist")


def uuid_text(value: Any) -> str:
    """A topic id as Kafka prints it: URL-safe base64 of the 16 bytes, without padding."""
    import base64

    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")
