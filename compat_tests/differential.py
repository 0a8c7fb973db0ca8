"""Differential testing at the protocol level: one script of requests, two brokers' answers.

`run_script(bootstrap)` sends a fixed script of requests (ApiVersions, Metadata, CreateTopics,
Produce, Fetch, ListOffsets, the classic group APIs, DescribeConfigs), encoded with
kafkalite's own codec (`compat_tests.wire_client`), and returns every answer decoded and
*normalised*: turned into plain JSON data in which what legitimately differs between two
brokers, or between two runs of the same broker, is replaced by a placeholder (node ids,
hosts, ports, cluster and topic ids, member ids, timestamps, error messages' wording; see
`Normaliser` for each field and why).

``compat_tests/reference/record.py`` runs the script against the reference Apache Kafka and
writes the answers to ``compat_tests/reference/golden/``; ``compat_tests/test_differential.py``
runs it against the broker under test and compares every field with the recording
(`compare`), so a field that kafkalite answers differently from Kafka fails by its path.

The script is deterministic: topic and group names carry a random run token (normalised
to ``{run}``), record timestamps are offsets from the run's base time (normalised to
``T+ms``), and where Kafka applies a change a moment after it answers (a created topic in
Metadata, the group coordinator's topic) the script waits for it as a client must, with
requests that are not recorded.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import attrs

from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.batch import batch_crc_ok, iter_batches
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages import all_apis
from kafkalite.wire.messages.api_versions import ApiVersionsRequest
from kafkalite.wire.messages.create_topics import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
)
from kafkalite.wire.messages.delete_groups import DeleteGroupsRequest
from kafkalite.wire.messages.describe_configs import DescribeConfigsRequest, DescribeConfigsResource
from kafkalite.wire.messages.describe_groups import DescribeGroupsRequest
from kafkalite.wire.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from kafkalite.wire.messages.find_coordinator import FindCoordinatorRequest
from kafkalite.wire.messages.heartbeat import HeartbeatRequest
from kafkalite.wire.messages.join_group import JoinGroupRequest, JoinGroupRequestProtocol
from kafkalite.wire.messages.leave_group import LeaveGroupRequest, MemberIdentity
from kafkalite.wire.messages.list_groups import ListGroupsRequest
from kafkalite.wire.messages.list_offsets import ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic
from kafkalite.wire.messages.metadata import MetadataRequest, MetadataRequestTopic
from kafkalite.wire.messages.offset_commit import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from kafkalite.wire.messages.offset_fetch import (
    OffsetFetchRequest,
    OffsetFetchRequestGroup,
    OffsetFetchRequestTopic,
    OffsetFetchRequestTopics,
)
from kafkalite.wire.messages.produce import PartitionProduceData, ProduceRequest, TopicProduceData
from kafkalite.wire.messages.sync_group import SyncGroupRequest, SyncGroupRequestAssignment
from kafkalite.wire.records import NewRecord, build_batch, decode_records, record_timestamp
from kafkalite.wire.schema import KafkaStruct

from .wire_client import WireClient

CLIENT_ID = "kafkalite-differential"
ZERO_UUID = uuid.UUID(int=0)
UNKNOWN_TOPIC_ID = uuid.UUID("0123456789abcdef0123456789abcdef")  # no broker has it
SCRIPT_UUIDS = {UNKNOWN_TOPIC_ID}  # chosen by the script: compared as they are

# Error codes the script waits out, on either broker, before it records an answer: Kafka
# creates the group coordinator's topic (and loads it) a moment after the first
# FindCoordinator. (A created topic is waited for with `Recorder.wait_for_topic`.)
COORDINATOR_NOT_AVAILABLE = 15
COORDINATOR_LOAD_IN_PROGRESS = 14
NOT_COORDINATOR = 16


# -- one recorded exchange -----------------------------------------------------------------


@dataclass
class Exchange:
    """One request of the script and its normalised answer."""

    step: str  # unique, "api/case-vN"
    api: str
    version: int
    request: Any  # normalised, for the reader of the golden files (never compared)
    response: Any  # normalised; what is compared

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "api": self.api, "version": self.version, "request": self.request,
                "response": self.response}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Exchange:
        return cls(data["step"], data["api"], data["version"], data["request"], data["response"])


def step_file_name(step: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", step) + ".json"


# -- normalisation -----------------------------------------------------------------------------

_CLUSTER_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
_UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Fields whose value is a broker's node id (or a list of them). Node ids are configuration
# (kafkalite's default is 0, the reference's 1): the broker's own id becomes "<node>", any
# other value (-1 for "none") stays, so "no leader" is still told apart from "this broker".
NODE_FIELDS = {"node_id", "leader_id", "controller_id", "replica_nodes", "isr_nodes", "offline_replicas"}

# Fields holding a timestamp in ms. Record timestamps are chosen by the script (offsets from
# its base time, a minute before it starts) and the brokers echo them (CreateTime topics
# only): within a day of the base time they become "T+offset", compared; -1 stays -1.
TIMESTAMP_FIELDS = {"timestamp", "log_append_time_ms", "base_timestamp", "max_timestamp"}

# Error codes are ints on the wire; the golden files name them too, for the reader.
ERROR_FIELDS = {"error_code", "topic_config_error_code"}

# Broker configs whose value names this particular process (its ports, directories, node
# id): the value is replaced by "<environment>" and not compared. Their source, read_only,
# type and sensitivity are still compared.
ENVIRONMENT_CONFIGS = {
    "advertised.listeners",
    "broker.id",
    "controller.quorum.bootstrap.servers",
    "listeners",
    "log.dir",
    "log.dirs",
    "metadata.log.dir",
    "node.id",
}

# Broker configs that follow the process's security set-up (which listeners, TLS files, SASL
# mechanisms). The reference Kafka runs SSL and SASL listeners for the security compat tests,
# kafkalite's differential run a PLAINTEXT one: these entries are left out of a DescribeConfigs
# answer altogether (with ENVIRONMENT_CONFIGS' rule they would still differ in source).
SECURITY_SETUP_CONFIGS = {
    "listener.security.protocol.map",
    "sasl.enabled.mechanisms",
    "ssl.client.auth",
    "ssl.keystore.location",
    "ssl.keystore.type",
    "ssl.truststore.location",
    "ssl.truststore.type",
}


def _security_setup(config_name: str | None) -> bool:
    return config_name is not None and (config_name in SECURITY_SETUP_CONFIGS or config_name.startswith("listener.name."))


class Normaliser:
    """Turns decoded messages into JSON data, replacing what legitimately differs.

    Per field, and why (the rules are by field name, so they apply to every API):

    - node ids (NODE_FIELDS, and a BROKER resource's name): configuration, see NODE_FIELDS.
    - ``host`` / ``port`` of this broker: where it happens to listen -> "<host>" / "<port>".
    - ``cluster_id``: random per cluster -> "<cluster-id>" when it is this broker's.
    - ``topic_id`` (any UUID-typed value): random per topic -> "<topic-id:NAME>", named after
      the topic it was first seen with (else "<topic-id#N>"), so the same topic keeps the same
      placeholder across answers; the zero UUID (no topic) and the script's own UUIDs stay.
    - UUIDs inside strings (member ids are client_id + "-" + UUID): random -> "<uuid#N>",
      numbered by first appearance, so the member id's shape is still compared.
    - the run token in names -> "{run}" (topic and group names are unique per run).
    - timestamps near the run's base time -> "T+ms" (see TIMESTAMP_FIELDS).
    - ``error_message``: Kafka's wording is not part of the protocol (clients show it, none
      parses it) -> "<message>"; whether there is one (null, "" or a text) is compared.
    - ``documentation`` of a config: Kafka's prose -> "<documentation>"; null or "" compared.
    - broker config values that name the process (ENVIRONMENT_CONFIGS) -> "<environment>";
      configs of the security set-up (SECURITY_SETUP_CONFIGS, ``listener.name.*``) left out.
    - ``finalized_features_epoch``: an offset in Kafka's metadata log -> "<epoch>" if >= 0.
    - ``leader_epoch`` and ``throttle_time_ms``: compared as they are. One replica, a fresh
      topic and no quotas: both brokers must answer epoch 0 and throttle 0, and a client acts
      on both (fencing, back-off).
    - record batches (``records``): decoded into their header fields and records, compared
      field by field; the CRC as "valid or not" (it covers the run's timestamps).
    - arrays of structs with a natural key (name, partition index, api key ...) become
      objects keyed by it ("[key]"), so that the order of a broker's answer, which the
      protocol leaves open, is not compared.
    """

    def __init__(self, run: str, base_ts: int) -> None:
        self.run = run
        self.base_ts = base_ts
        self.node_id: int | None = None
        self.host: str | None = None
        self.port: int | None = None
        self.cluster_id: str | None = None
        self._uuids: dict[Any, str] = {}
        self._string_uuids: dict[str, str] = {}

    # public --------------------------------------------------------------------------------

    def message(self, obj: Any, version: int, api: str) -> Any:
        return self._value(obj, version, api, "", None)

    # internals -------------------------------------------------------------------------------

    def learn_topic_id(self, topic_id: uuid.UUID, name: str | None) -> None:
        """Name the placeholder of *topic_id* after its topic, the first time it is seen."""
        if name and topic_id != ZERO_UUID and topic_id not in SCRIPT_UUIDS and topic_id not in self._uuids:
            self._uuids[topic_id] = f"<topic-id:{self.text(name)}>"

    def _struct(self, obj: Any, version: int, api: str) -> dict[str, Any]:
        names = [s.name for s in type(obj).__kafka_fields__ if version in s.versions]
        if "topic_id" in names:
            for key in ("name", "topic"):
                if key in names:
                    self.learn_topic_id(obj.topic_id, getattr(obj, key))
        out: dict[str, Any] = {}
        for spec in type(obj).__kafka_fields__:
            if version not in spec.versions:
                continue
            out[spec.name] = self._value(getattr(obj, spec.name), version, api, spec.name, obj)
        if obj.unknown_tagged_fields:
            out["unknown_tagged_fields"] = {str(t): v.hex() for t, v in sorted(obj.unknown_tagged_fields.items())}
        return out

    def _value(self, value: Any, version: int, api: str, name: str, parent: Any) -> Any:
        if isinstance(value, KafkaStruct):
            return self._struct(value, version, api)
        if name == "records":
            return None if value is None else self.records(value)
        if isinstance(value, list):
            if name == "configs":
                value = [v for v in value if not _security_setup(getattr(v, "name", None))]
            items = [self._value(v, version, api, name, parent) for v in value]
            # Synonyms are in order of precedence, and may repeat a name: a list.
            if value and name != "synonyms" and all(isinstance(v, KafkaStruct) for v in value):
                return _keyed(items)
            return items
        if name in NODE_FIELDS:
            return self._node(value)
        if name == "resource_name" and getattr(parent, "resource_type", None) == 4 and value == str(self.node_id):
            return "<node>"  # a BROKER config resource is named by the node id
        if name == "host" and value == self.host:
            return "<host>"
        if name == "port" and value == self.port:
            return "<port>"
        if name == "cluster_id" and value is not None and value == self.cluster_id and _CLUSTER_ID.match(value):
            return "<cluster-id>"  # random per cluster; its form (22 chars of base64url) is compared
        if isinstance(value, uuid.UUID):
            if value == ZERO_UUID or value in SCRIPT_UUIDS:
                return str(value)
            return self._uuids.setdefault(value, f"<topic-id#{len(self._uuids) + 1}>")
        if name in TIMESTAMP_FIELDS:
            return self._timestamp(value)
        if name in ERROR_FIELDS:
            return _error_name(value)
        if name == "error_message" or name == "batch_index_error_message":
            return "<message>" if value else value  # null and "" stay what they are
        if name == "documentation":
            return "<documentation>" if value else value
        if name == "finalized_features_epoch":
            return "<epoch>" if value >= 0 else value
        if name == "value" and getattr(parent, "name", None) in ENVIRONMENT_CONFIGS and value is not None:
            return "<environment>"
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).hex()
        if isinstance(value, str):
            return self.text(value)
        return value

    def _node(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._node(v) for v in value]
        return "<node>" if self.node_id is not None and value == self.node_id else value

    def _timestamp(self, value: int) -> Any:
        if abs(value - self.base_ts) <= 24 * 3600 * 1000:
            return f"T{value - self.base_ts:+d}"
        return value

    def text(self, value: str) -> str:
        value = value.replace(self.run, "{run}")

        def one(match: re.Match[str]) -> str:
            found = match.group(0)
            return self._string_uuids.setdefault(found, f"<uuid#{len(self._string_uuids) + 1}>")

        return _UUID_TEXT.sub(one, value)

    def records(self, data: Any) -> list[dict[str, Any]]:
        """A record set as its batches: every header field, then every record."""
        batches = []
        for pos, header in iter_batches(data):
            batch = {
                "base_offset": header.base_offset,
                "batch_length": header.batch_length,
                "partition_leader_epoch": header.partition_leader_epoch,
                "magic": header.magic,
                # The CRC covers the timestamps, which differ per run: whether it is right
                # is compared (the broker must return the batch's bytes as produced).
                "crc_valid": batch_crc_ok(data, pos, header),
                "attributes": header.attributes,
                "last_offset_delta": header.last_offset_delta,
                "base_timestamp": self._timestamp(header.base_timestamp),
                "max_timestamp": self._timestamp(header.max_timestamp),
                "producer_id": header.producer_id,
                "producer_epoch": header.producer_epoch,
                "base_sequence": header.base_sequence,
                "records_count": header.records_count,
                "records": [
                    {
                        "offset": header.base_offset + r.offset_delta,
                        "timestamp": self._timestamp(record_timestamp(header, r)),
                        "attributes": r.attributes,
                        "key": None if r.key is None else r.key.hex(),
                        "value": None if r.value is None else r.value.hex(),
                        "headers": [[k, None if v is None else bytes(v).hex()] for k, v in r.headers],
                    }
                    for r in decode_records(data, pos)
                ],
            }
            batches.append(batch)
        return batches


_KEYS = ("name", "topic", "group_id", "key", "resource_name", "partition_index", "partition", "index",
         "api_key", "member_id")


def _keyed(items: list[dict[str, Any]]) -> Any:
    """A list of structs as an object keyed by their natural key, if they have a unique one."""
    for key in _KEYS:
        if not all(key in item for item in items):
            continue
        keys = [_key_text(item, key) for item in items]
        if len(set(keys)) == len(keys):
            return {k: item for k, item in zip(keys, items)}
    return items


def _key_text(item: dict[str, Any], key: str) -> str:
    value = item[key]
    if key == "api_key":
        try:
            return f"[{value} {ApiKey(value).name}]"
        except ValueError:
            return f"[{value} ?]"
    if key == "resource_name" and "resource_type" in item:
        return f"[{item['resource_type']}:{value}]"
    return f"[{value}]"


def _error_name(code: int) -> Any:
    try:
        return f"{code} {ErrorCode(code).name}"
    except ValueError:
        return code


# -- the script ------------------------------------------------------------------------------


class Recorder:
    """Sends requests of the script, keeps their normalised answers as `Exchange`s."""

    def __init__(self, bootstrap: str, run: str | None = None) -> None:
        self.bootstrap = bootstrap
        self.run = run or uuid.uuid4().hex[:8]
        # Record timestamps: a whole second a little in the past, so that retention (7 days)
        # never touches them and the brokers' "now" checks accept them.
        self.base_ts = (int(time.time()) - 60) * 1000
        self.norm = Normaliser(self.run, self.base_ts)
        self.client = WireClient(bootstrap, CLIENT_ID)
        self.exchanges: list[Exchange] = []
        self.error: Exception | None = None

    def close(self) -> None:
        self.client.close()

    def name(self, what: str) -> str:
        return f"diff-{self.run}-{what}"

    def send(self, request: Any, version: int, **kwargs: Any) -> Any:
        """A request whose answer is not recorded (learning ids, waiting for Kafka)."""
        return self.client.request(request, version, **kwargs)

    def call(
        self,
        step: str,
        request: Any,
        version: int,
        *,
        retry_while: Callable[[Any], bool] | None = None,
        timeout: float = 30.0,
        response_version: int | None = None,
    ) -> Any:
        """Send *request*; record its answer under *step*; return the decoded answer.

        *retry_while(response)*: the answer is not final yet on this broker (Kafka's
        asynchronous metadata); the request is sent again until it is, and only the final
        answer is recorded.
        """
        if any(e.step == step for e in self.exchanges):
            raise ValueError(f"step {step} twice in the script")
        deadline = time.monotonic() + timeout
        while True:
            response = self.client.request(request, version, response_version=response_version)
            if retry_while is None or not retry_while(response) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        api = all_apis()[type(request).__kafka_api_key__].name
        at = version if response_version is None else response_version
        self.exchanges.append(
            Exchange(
                step=step,
                api=api,
                version=version,
                request=self.norm.message(request, version, api),
                response=self.norm.message(response, at, api),
            )
        )
        return response

    def wait_for_topic(self, topic: str, partitions: int) -> uuid.UUID:
        """Until Metadata shows *topic* with *partitions* partitions, each with a leader."""
        deadline = time.monotonic() + 30
        while True:
            answer = self.send(MetadataRequest(topics=[MetadataRequestTopic(name=topic)],
                                               allow_auto_topic_creation=False), 12)
            t = answer.topics[0]
            if (t.error_code == 0 and len(t.partitions) == partitions
                    and all(p.leader_id >= 0 and p.error_code == 0 for p in t.partitions)):
                self.norm.learn_topic_id(t.topic_id, topic)
                return t.topic_id
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} not in Metadata with {partitions} partitions: {answer}")
            time.sleep(0.05)


def run_script(bootstrap: str, run: str | None = None) -> Recorder:
    """Send the whole script to the broker at *bootstrap*; return the recorder.

    Its ``exchanges`` are the answers recorded; ``error`` is the exception that stopped the
    script early (None when it ran to the end), so that a caller keeps what came before.
    """
    rec = Recorder(bootstrap, run)
    try:
        for part in SCRIPT:
            part(rec)
    except Exception as exc:  # the caller reports it, with the steps not reached
        rec.error = exc
    finally:
        rec.close()
    return rec


# Every part of the script is a function of the recorder; they run in this order, and later
# parts use what earlier ones created (topics, records, the group).

SCRIPT: list[Callable[[Recorder], None]] = []


def part(fn: Callable[[Recorder], None]) -> Callable[[Recorder], None]:
    SCRIPT.append(fn)
    return fn


# Versions: the highest both brokers serve ("max"), and one old version both serve ("old").
# kafkalite's maxima are lower than Kafka 4.4's for Produce (11), Fetch (16), ListOffsets
# (10), OffsetCommit / OffsetFetch (9), ApiVersions (4) and DeleteGroups (2).
V = {
    "ApiVersions": 4,
    "Metadata": 13,
    "CreateTopics": 7,
    "Produce": 11,
    "Fetch": 16,
    "ListOffsets": 10,
    "FindCoordinator": 6,
    "JoinGroup": 9,
    "SyncGroup": 5,
    "Heartbeat": 4,
    "OffsetCommit": 9,
    "OffsetFetch": 9,
    "DescribeGroups": 6,
    "ListGroups": 5,
    "LeaveGroup": 5,
    "DeleteGroups": 2,
    "DescribeConfigs": 4,
}


@part
def api_versions(rec: Recorder) -> None:
    v = V["ApiVersions"]
    rec.call(f"api_versions/current-v{v}",
             ApiVersionsRequest(client_software_name="kafkalite-differential", client_software_version="1.0"), v)
    rec.call("api_versions/old-v0", ApiVersionsRequest(), 0)
    # A version the broker does not know: answered at v0 with UNSUPPORTED_VERSION and the
    # ApiVersions range, so that the client can retry (KIP-511).
    rec.call("api_versions/unknown-version-v127",
             ApiVersionsRequest(client_software_name="kafkalite-differential", client_software_version="1.0"),
             127, response_version=0)
    # Learn this broker's identity for the normaliser (not recorded).
    meta = rec.send(MetadataRequest(topics=[]), 12)
    rec.norm.node_id = meta.brokers[0].node_id
    rec.norm.host = meta.brokers[0].host
    rec.norm.port = meta.brokers[0].port
    rec.norm.cluster_id = meta.cluster_id


# Topics of the script: "a" (2 partitions, two config overrides), "b" (broker defaults).
TOPIC_A_CONFIGS = {"retention.ms": "3600000", "max.message.bytes": "2000000"}


@part
def create_topics(rec: Recorder) -> None:
    v = V["CreateTopics"]
    a, b = rec.name("a"), rec.name("b")

    def topic(name: str, partitions: int = 1, replication: int = 1, configs: dict[str, str] | None = None) -> Any:
        return CreatableTopic(name=name, num_partitions=partitions, replication_factor=replication,
                              configs=[CreatableTopicConfig(name=k, value=val) for k, val in (configs or {}).items()])

    rec.call(f"create_topics/ok-v{v}", CreateTopicsRequest(topics=[topic(a, 2, 1, TOPIC_A_CONFIGS)]), v)
    rec.call(f"create_topics/broker-defaults-v{v}", CreateTopicsRequest(topics=[topic(b, -1, -1)]), v)
    rec.wait_for_topic(a, 2)
    rec.wait_for_topic(b, 1)
    rec.call(f"create_topics/already-exists-v{v}", CreateTopicsRequest(topics=[topic(a, 2)]), v)
    rec.call(f"create_topics/invalid-name-v{v}", CreateTopicsRequest(topics=[topic(rec.name("bad/name"))]), v)
    rec.call(f"create_topics/name-too-long-v{v}", CreateTopicsRequest(topics=[topic(rec.name("x" * 250))]), v)
    rec.call(f"create_topics/zero-partitions-v{v}", CreateTopicsRequest(topics=[topic(rec.name("p0"), 0)]), v)
    rec.call(f"create_topics/replication-factor-too-high-v{v}",
             CreateTopicsRequest(topics=[topic(rec.name("rf3"), 1, 3)]), v)
    rec.call(f"create_topics/invalid-config-value-v{v}",
             CreateTopicsRequest(topics=[topic(rec.name("badcfg"), 1, 1, {"cleanup.policy": "sometimes"})]), v)
    rec.call(f"create_topics/unknown-config-v{v}",
             CreateTopicsRequest(topics=[topic(rec.name("unkcfg"), 1, 1, {"no.such.config": "1"})]), v)
    rec.call(f"create_topics/validate-only-v{v}",
             CreateTopicsRequest(topics=[topic(rec.name("vo"), 3, 1, {"cleanup.policy": "compact"})],
                                 validate_only=True), v)
    # The validated topic was not created.
    rec.call(f"create_topics/validate-only-not-created-metadata-v{V['Metadata']}",
             MetadataRequest(topics=[MetadataRequestTopic(name=rec.name("vo"))], allow_auto_topic_creation=False),
             V["Metadata"])
    rec.call("create_topics/old-v2", CreateTopicsRequest(topics=[topic(rec.name("old"), 1, 1)]), 2)
    rec.wait_for_topic(rec.name("old"), 1)


@part
def metadata(rec: Recorder) -> None:
    v = V["Metadata"]
    a = rec.name("a")

    def ask(*names: str, auto: bool = False, ops: bool = False) -> Any:
        return MetadataRequest(topics=[MetadataRequestTopic(name=n) for n in names], allow_auto_topic_creation=auto,
                               include_topic_authorized_operations=ops)

    everything = rec.call(f"metadata/all-topics-v{v}", MetadataRequest(topics=None, allow_auto_topic_creation=False), v)
    # Other tests' topics (and the internal ones) share the broker: keep this run's only.
    _only_this_run(rec)
    assert any(t.name == a for t in everything.topics)
    rec.call(f"metadata/one-topic-v{v}", ask(a), v)
    rec.call(f"metadata/authorized-operations-v{v}", ask(a, ops=True), v)
    topic_id = rec.wait_for_topic(a, 2)
    rec.call(f"metadata/by-topic-id-v{v}",
             MetadataRequest(topics=[MetadataRequestTopic(topic_id=topic_id, name=None)],
                             allow_auto_topic_creation=False), v)
    rec.call(f"metadata/unknown-topic-no-auto-create-v{v}", ask(rec.name("nope")), v)
    auto = rec.name("auto")
    rec.call(f"metadata/unknown-topic-auto-create-v{v}", ask(auto, auto=True), v)
    rec.wait_for_topic(auto, 1)
    rec.call(f"metadata/auto-created-topic-v{v}", ask(auto), v)
    rec.call(f"metadata/invalid-name-auto-create-v{v}", ask(rec.name("bad name!"), auto=True), v)
    rec.call("metadata/one-topic-old-v1", MetadataRequest(topics=[MetadataRequestTopic(name=a)]), 1)
    rec.call("metadata/unknown-topic-auto-create-old-v1",
             MetadataRequest(topics=[MetadataRequestTopic(name=rec.name("auto-v1"))]), 1)  # v1 always may create
    rec.wait_for_topic(rec.name("auto-v1"), 1)
    rec.call("metadata/auto-created-topic-old-v1", MetadataRequest(topics=[MetadataRequestTopic(name=rec.name("auto-v1"))]),
             1)


def _only_this_run(rec: Recorder) -> None:
    """Drop other tests' topics from the last recorded Metadata answer."""
    last = rec.exchanges[-1]
    topics = last.response["topics"]
    last.response["topics"] = {k: t for k, t in topics.items() if "{run}" in k}


# Records of the script, with timestamps relative to the base time (one out of order, so
# that the max timestamp is not the last record's).
BATCH_1 = [(b"k0", b"v0", 0), (b"k1", b"v1", 1000), (None, b"v2", 2000)]
BATCH_2 = [(b"k3", b"v3", 3000), (b"k4", None, 1500)]


def _batch(rec: Recorder, records: list[tuple[bytes | None, bytes | None, int]]) -> bytes:
    return build_batch(
        [NewRecord(key, value, headers=[("h", b"x")] if i == 0 else [], timestamp=rec.base_ts + ts)
         for i, (key, value, ts) in enumerate(records)],
        base_timestamp=rec.base_ts + records[0][2],
    )


def _produce(topic: str, partition: int, data: bytes, acks: int = 1) -> ProduceRequest:
    return ProduceRequest(acks=acks, timeout_ms=10000, topic_data=[
        TopicProduceData(name=topic, partition_data=[PartitionProduceData(index=partition, records=data)])])


@part
def produce(rec: Recorder) -> None:
    v = V["Produce"]
    a = rec.name("a")
    rec.call(f"produce/acks-1-v{v}", _produce(a, 0, _batch(rec, BATCH_1)), v)
    rec.call(f"produce/second-batch-v{v}", _produce(a, 0, _batch(rec, BATCH_2)), v)
    rec.call(f"produce/acks-all-v{v}", _produce(a, 1, _batch(rec, BATCH_1[:1]), acks=-1), v)
    rec.call(f"produce/unknown-partition-v{v}", _produce(a, 7, _batch(rec, BATCH_1[:1])), v)
    rec.call(f"produce/unknown-topic-v{v}", _produce(rec.name("nope"), 0, _batch(rec, BATCH_1[:1])), v)
    rec.call("produce/old-v3", _produce(a, 1, _batch(rec, BATCH_2[:1])), 3)


def _fetch(topic: str | uuid.UUID, partition: int, offset: int, max_wait_ms: int = 0) -> FetchRequest:
    named = isinstance(topic, str)
    return FetchRequest(
        max_wait_ms=max_wait_ms, min_bytes=1, max_bytes=1 << 20, isolation_level=0, session_id=0, session_epoch=-1,
        topics=[FetchTopic(topic=topic if named else "", topic_id=ZERO_UUID if named else topic,
                           partitions=[FetchPartition(partition=partition, fetch_offset=offset,
                                                      partition_max_bytes=1 << 20)])],
    )


@part
def fetch(rec: Recorder) -> None:
    v = V["Fetch"]
    a = rec.name("a")
    topic_id = rec.wait_for_topic(a, 2)
    rec.call(f"fetch/from-0-v{v}", _fetch(topic_id, 0, 0), v)
    rec.call(f"fetch/from-middle-of-batch-v{v}", _fetch(topic_id, 0, 1), v)
    rec.call(f"fetch/second-partition-v{v}", _fetch(topic_id, 1, 0), v)
    rec.call(f"fetch/at-log-end-v{v}", _fetch(topic_id, 0, 5, max_wait_ms=50), v)
    rec.call(f"fetch/offset-out-of-range-v{v}", _fetch(topic_id, 0, 100), v)
    rec.call(f"fetch/unknown-partition-v{v}", _fetch(topic_id, 7, 0), v)
    rec.call(f"fetch/unknown-topic-id-v{v}", _fetch(UNKNOWN_TOPIC_ID, 0, 0), v)
    rec.call("fetch/from-0-old-v4", _fetch(a, 0, 0), 4)
    rec.call("fetch/unknown-topic-old-v4", _fetch(rec.name("nope"), 0, 0), 4)


# ListOffsets special timestamps.
LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL = -1, -2, -3, -4


def _list_offsets(topic: str, partition: int, timestamp: int) -> ListOffsetsRequest:
    return ListOffsetsRequest(replica_id=-1, isolation_level=0, timeout_ms=10000, topics=[
        ListOffsetsTopic(name=topic, partitions=[ListOffsetsPartition(partition_index=partition, timestamp=timestamp)])])


@part
def list_offsets(rec: Recorder) -> None:
    v = V["ListOffsets"]
    a = rec.name("a")
    rec.call(f"list_offsets/earliest-v{v}", _list_offsets(a, 0, EARLIEST), v)
    rec.call(f"list_offsets/latest-v{v}", _list_offsets(a, 0, LATEST), v)
    rec.call(f"list_offsets/max-timestamp-v{v}", _list_offsets(a, 0, MAX_TIMESTAMP), v)
    rec.call(f"list_offsets/earliest-local-v{v}", _list_offsets(a, 0, EARLIEST_LOCAL), v)
    rec.call(f"list_offsets/by-timestamp-v{v}", _list_offsets(a, 0, rec.base_ts + 1500), v)
    rec.call(f"list_offsets/by-exact-timestamp-v{v}", _list_offsets(a, 0, rec.base_ts + 1000), v)
    rec.call(f"list_offsets/by-timestamp-after-all-v{v}", _list_offsets(a, 0, rec.base_ts + 10_000), v)
    rec.call(f"list_offsets/empty-topic-latest-v{v}", _list_offsets(rec.name("b"), 0, LATEST), v)
    rec.call(f"list_offsets/empty-topic-max-timestamp-v{v}", _list_offsets(rec.name("b"), 0, MAX_TIMESTAMP), v)
    rec.call(f"list_offsets/unknown-partition-v{v}", _list_offsets(a, 7, LATEST), v)
    rec.call(f"list_offsets/unknown-topic-v{v}", _list_offsets(rec.name("nope"), 0, LATEST), v)
    rec.call("list_offsets/earliest-old-v1", _list_offsets(a, 0, EARLIEST), 1)
    rec.call("list_offsets/latest-old-v1", _list_offsets(a, 0, LATEST), 1)


# The consumer protocol's subscription and assignment, as a client would send them (the
# brokers only carry these bytes).
SUBSCRIPTION = bytes.fromhex("0000" "00000001" "0001") + b"t" + bytes.fromhex("ffffffff")
ASSIGNMENT = bytes.fromhex("0000" "00000001" "0001") + b"t" + bytes.fromhex("00000001" "00000000" "ffffffff")
PROTOCOLS = [JoinGroupRequestProtocol(name="range", metadata=SUBSCRIPTION)]


def _coordinator_ready(response: Any) -> bool:
    errors = [c.error_code for c in response.coordinators] if response.coordinators else [response.error_code]
    return any(e in (COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS) for e in errors)


@part
def groups(rec: Recorder) -> None:
    a = rec.name("a")
    group = rec.name("group")
    vf, vj, vs, vh = V["FindCoordinator"], V["JoinGroup"], V["SyncGroup"], V["Heartbeat"]
    # Kafka creates __consumer_offsets on the first FindCoordinator: wait until it is there.
    rec.call(f"groups/find-coordinator-v{vf}", FindCoordinatorRequest(key_type=0, coordinator_keys=[group]), vf,
             retry_while=_coordinator_ready)
    rec.call("groups/find-coordinator-old-v3", FindCoordinatorRequest(key=group, key_type=0), 3,
             retry_while=_coordinator_ready)
    join = JoinGroupRequest(group_id=group, session_timeout_ms=30000, rebalance_timeout_ms=60000, member_id="",
                            protocol_type="consumer", protocols=PROTOCOLS, reason="differential test")
    first = rec.call(f"groups/join-member-id-required-v{vj}", join, vj,
                     retry_while=lambda r: r.error_code in (COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR))
    member = first.member_id
    joined = rec.call(f"groups/join-v{vj}", attrs.evolve(join, member_id=member), vj)
    generation = joined.generation_id
    rec.call(f"groups/sync-v{vs}", SyncGroupRequest(
        group_id=group, generation_id=generation, member_id=member, protocol_type="consumer", protocol_name="range",
        assignments=[SyncGroupRequestAssignment(member_id=member, assignment=ASSIGNMENT)]), vs)
    rec.call(f"groups/heartbeat-v{vh}", HeartbeatRequest(group_id=group, generation_id=generation, member_id=member), vh)
    rec.call(f"groups/heartbeat-wrong-generation-v{vh}",
             HeartbeatRequest(group_id=group, generation_id=generation + 5, member_id=member), vh)
    rec.call(f"groups/heartbeat-unknown-member-v{vh}",
             HeartbeatRequest(group_id=group, generation_id=generation, member_id="stranger"), vh)

    vc = V["OffsetCommit"]

    def commit(offsets: dict[tuple[str, int], int], generation_id: int = generation, member_id: str = member,
               group_id: str = group) -> OffsetCommitRequest:
        topics: dict[str, list[Any]] = {}
        for (topic, partition), offset in offsets.items():
            topics.setdefault(topic, []).append(OffsetCommitRequestPartition(
                partition_index=partition, committed_offset=offset, committed_leader_epoch=0,
                committed_metadata=f"m{offset}"))
        return OffsetCommitRequest(group_id=group_id, generation_id_or_member_epoch=generation_id, member_id=member_id,
                                   topics=[OffsetCommitRequestTopic(name=t, partitions=ps) for t, ps in topics.items()])

    rec.call(f"groups/offset-commit-v{vc}", commit({(a, 0): 3, (a, 1): 1}), vc)
    rec.call(f"groups/offset-commit-unknown-topic-v{vc}", commit({(rec.name("nope"), 0): 1}), vc)
    rec.call(f"groups/offset-commit-unknown-partition-v{vc}", commit({(a, 7): 1}), vc)
    rec.call(f"groups/offset-commit-wrong-generation-v{vc}", commit({(a, 0): 4}, generation_id=generation + 5), vc)
    rec.call(f"groups/offset-commit-unknown-member-v{vc}", commit({(a, 0): 4}, member_id="stranger"), vc)
    # A commit outside any generation (an admin tool's, or a consumer with assign()).
    rec.call(f"groups/offset-commit-standalone-v{vc}",
             commit({(a, 0): 2}, generation_id=-1, member_id="", group_id=rec.name("standalone")), vc)
    rec.call("groups/offset-commit-old-v2", commit({(a, 1): 2}, generation_id=-1, member_id="",
                                                   group_id=rec.name("standalone")), 2)

    vo = V["OffsetFetch"]
    rec.call(f"groups/offset-fetch-v{vo}", OffsetFetchRequest(groups=[OffsetFetchRequestGroup(
        group_id=group, topics=[OffsetFetchRequestTopics(name=a, partition_indexes=[0, 1])])]), vo)
    rec.call(f"groups/offset-fetch-uncommitted-partitions-v{vo}", OffsetFetchRequest(groups=[OffsetFetchRequestGroup(
        group_id=group, topics=[OffsetFetchRequestTopics(name=rec.name("b"), partition_indexes=[0]),
                                OffsetFetchRequestTopics(name=rec.name("nope"), partition_indexes=[0])])]), vo)
    rec.call(f"groups/offset-fetch-all-topics-v{vo}",
             OffsetFetchRequest(groups=[OffsetFetchRequestGroup(group_id=group, topics=None)]), vo)
    rec.call(f"groups/offset-fetch-two-groups-v{vo}", OffsetFetchRequest(groups=[
        OffsetFetchRequestGroup(group_id=group, topics=None),
        OffsetFetchRequestGroup(group_id=rec.name("standalone"), topics=None),
        OffsetFetchRequestGroup(group_id=rec.name("never"), topics=None)]), vo)
    rec.call(f"groups/offset-fetch-unknown-group-v{vo}", OffsetFetchRequest(groups=[OffsetFetchRequestGroup(
        group_id=rec.name("never"), topics=[OffsetFetchRequestTopics(name=a, partition_indexes=[0])])]), vo)
    rec.call("groups/offset-fetch-old-v5", OffsetFetchRequest(
        group_id=group, topics=[OffsetFetchRequestTopic(name=a, partition_indexes=[0, 1])]), 5)
    rec.call("groups/offset-fetch-all-topics-old-v5", OffsetFetchRequest(group_id=group, topics=None), 5)

    vd = V["DescribeGroups"]
    rec.call(f"groups/describe-v{vd}", DescribeGroupsRequest(groups=[group], include_authorized_operations=True), vd)
    rec.call(f"groups/describe-unknown-v{vd}", DescribeGroupsRequest(groups=[rec.name("never")]), vd)
    rec.call("groups/describe-old-v4", DescribeGroupsRequest(groups=[group, rec.name("never")]), 4)

    vl = V["ListGroups"]
    rec.call(f"groups/list-v{vl}", ListGroupsRequest(), vl)
    _only_this_run_groups(rec)
    rec.call(f"groups/list-stable-classic-v{vl}", ListGroupsRequest(states_filter=["Stable"], types_filter=["classic"]),
             vl)
    _only_this_run_groups(rec)
    rec.call(f"groups/list-empty-state-v{vl}", ListGroupsRequest(states_filter=["Empty"]), vl)
    _only_this_run_groups(rec)
    rec.call("groups/list-old-v0", ListGroupsRequest(), 0)
    _only_this_run_groups(rec)

    vg = V["DeleteGroups"]
    rec.call(f"groups/delete-non-empty-v{vg}", DeleteGroupsRequest(groups_names=[group]), vg)
    vv = V["LeaveGroup"]
    rec.call(f"groups/leave-v{vv}", LeaveGroupRequest(group_id=group, members=[
        MemberIdentity(member_id=member, reason="differential test done")]), vv)
    rec.call(f"groups/leave-unknown-member-v{vv}", LeaveGroupRequest(group_id=group, members=[
        MemberIdentity(member_id=member)]), vv)
    rec.call(f"groups/describe-after-leave-v{vd}", DescribeGroupsRequest(groups=[group]), vd)
    rec.call(f"groups/delete-v{vg}", DeleteGroupsRequest(groups_names=[group, rec.name("never")]), vg)
    rec.call(f"groups/offset-fetch-after-delete-v{vo}", OffsetFetchRequest(groups=[OffsetFetchRequestGroup(
        group_id=group, topics=[OffsetFetchRequestTopics(name=a, partition_indexes=[0])])]), vo)
    rec.call("groups/delete-old-v0", DeleteGroupsRequest(groups_names=[rec.name("standalone")]), 0)

    # The join of an old client: no MEMBER_ID_REQUIRED round before v4.
    old = rec.name("old-group")
    rec.call("groups/find-coordinator-old-v0", FindCoordinatorRequest(key=old), 0, retry_while=_coordinator_ready)
    joined = rec.call("groups/join-old-v3", JoinGroupRequest(
        group_id=old, session_timeout_ms=30000, rebalance_timeout_ms=60000, member_id="", protocol_type="consumer",
        protocols=PROTOCOLS), 3)
    rec.call("groups/sync-old-v2", SyncGroupRequest(group_id=old, generation_id=joined.generation_id,
                                                    member_id=joined.member_id, assignments=[]), 2)
    rec.call("groups/heartbeat-old-v2", HeartbeatRequest(group_id=old, generation_id=joined.generation_id,
                                                         member_id=joined.member_id), 2)
    rec.call("groups/leave-old-v2", LeaveGroupRequest(group_id=old, member_id=joined.member_id), 2)

    # The coordinator's internal topic, as any client sees it.
    rec.call(f"groups/consumer-offsets-metadata-v{V['Metadata']}", MetadataRequest(
        topics=[MetadataRequestTopic(name="__consumer_offsets")], allow_auto_topic_creation=False), V["Metadata"])


def _only_this_run_groups(rec: Recorder) -> None:
    """Drop other tests' groups from the last recorded ListGroups answer."""
    last = rec.exchanges[-1]
    groups = last.response["groups"]
    if isinstance(groups, dict):
        last.response["groups"] = {k: g for k, g in groups.items() if "{run}" in k}
    else:
        last.response["groups"] = [g for g in groups if "{run}" in g["group_id"]]


TOPIC, BROKER = 2, 4


@part
def describe_configs(rec: Recorder) -> None:
    v = V["DescribeConfigs"]
    a = rec.name("a")

    def describe(resource_type: int, name: str, keys: list[str] | None = None, synonyms: bool = True,
                 documentation: bool = True) -> DescribeConfigsRequest:
        return DescribeConfigsRequest(resources=[DescribeConfigsResource(
            resource_type=resource_type, resource_name=name, configuration_keys=keys)],
            include_synonyms=synonyms, include_documentation=documentation)

    rec.call(f"describe_configs/topic-v{v}", describe(TOPIC, a), v)
    rec.call(f"describe_configs/topic-defaults-v{v}", describe(TOPIC, rec.name("b"), documentation=False), v)
    rec.call(f"describe_configs/topic-some-keys-v{v}",
             describe(TOPIC, a, ["retention.ms", "cleanup.policy", "no.such.config"]), v)
    rec.call(f"describe_configs/unknown-topic-v{v}", describe(TOPIC, rec.name("nope")), v)
    rec.call(f"describe_configs/broker-v{v}", describe(BROKER, str(rec.norm.node_id)), v)
    rec.call(f"describe_configs/other-broker-v{v}", describe(BROKER, "4242"), v)
    rec.call("describe_configs/topic-old-v1", describe(TOPIC, a, synonyms=False), 1)


# -- comparison -----------------------------------------------------------------------------


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Leaves of a normalised answer by path: ``topics[a].partitions[0].leader_id``.

    Objects keyed by a natural key ("[k]" keys) and structs are walked; a list of plain
    values, and an empty object or list, is one leaf.
    """
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = f"{path}{key}" if key.startswith("[") else (f"{path}.{key}" if path else key)
            out.update(flatten(item, sub))
        return out
    if isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{path}#{i}"))
        return out
    return {path: value}


@dataclass
class Difference:
    path: str
    expected: Any  # the recorded (Kafka's) value; MISSING when absent
    actual: Any

    def __str__(self) -> str:
        return f"{self.path}: Kafka {_show(self.expected)}, this broker {_show(self.actual)}"


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING = _Missing()


def _show(value: Any) -> str:
    return repr(value) if value is not MISSING else "(absent)"


@dataclass
class Comparison:
    compared: list[str] = field(default_factory=list)  # paths compared (equal or not)
    differences: list[Difference] = field(default_factory=list)
    # Entities Kafka has and this broker lacks where that is allowed (see SUBSET), by prefix.
    lacking: list[str] = field(default_factory=list)


def compare(expected: Any, actual: Any, *, subset: list[str] = (), select: Callable[[str], bool] = lambda p: True
            ) -> Comparison:
    """Compare two normalised answers leaf by leaf, on the paths *select* accepts.

    *subset*: regexes matching a path prefix (an entity: one config, one API key) that Kafka
    may have and the broker under test may lack; a lacking entity is listed, not a difference.
    An entity that the broker has and Kafka does not is always a difference.
    """
    exp, act = flatten(expected), flatten(actual)
    result = Comparison()
    lacking: set[str] = set()
    for path in sorted(set(exp) | set(act)):
        if not select(path):
            continue
        if path in exp and path not in act:
            prefix = _entity(path, subset)
            if prefix is not None and not any(p.startswith(prefix) for p in act):
                lacking.add(prefix)
                continue
        result.compared.append(path)
        e, a = exp.get(path, MISSING), act.get(path, MISSING)
        if e != a:
            result.differences.append(Difference(path, e, a))
    result.lacking = sorted(lacking)
    return result


def _entity(path: str, subset: list[str]) -> str | None:
    for pattern in subset:
        match = re.match(pattern, path)
        if match:
            return match.group(0)
    return None


def matches(step: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(step, pattern)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
