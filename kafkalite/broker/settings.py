"""Broker configuration: one frozen value, built by the CLI, the in-process API or tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import attrs
from attrs import validators as v

from kafkalite.broker.listeners import Listener, parse_advertised, parse_listeners, parse_protocol_map

DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024
#: replica.selector.class: Kafka's rack-aware selector (KIP-392), the one kafkalite implements.
RACK_AWARE_SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector"
# A new group's first rebalance: wait this long for more members, again for each that arrives,
# at most the cap in all (bench/group_start.py measures the choice).
INITIAL_REBALANCE_DELAY_MS = 60
INITIAL_REBALANCE_DELAY_MAX_MS = 1000
# Consumer groups (KIP-848): how often members heartbeat. A rebalance takes about two
# heartbeats (the old owner learns to revoke, then the new one learns to take), so 200 ms
# keeps a test's second member under half a second; Kafka's default is 5000.
CONSUMER_HEARTBEAT_INTERVAL_MS = 200
# The request journal (kafkalite.broker.journal): entries kept by the in-process broker and
# the pytest fixtures (their assertions read it), and record bytes the entries may hold. A
# served broker keeps none unless asked (--journal-size): at full produce throughput the
# journal costs more than the 5 % the control plane may (bench/throughput.py, issue 12).
JOURNAL_SIZE = 10_000
JOURNAL_RECORD_BYTES = 64 * 1024 * 1024
# SASL mechanisms kafkalite implements, and those on by default (Kafka's default is GSSAPI,
# which kafkalite does not have).
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")


def _users(users: object) -> tuple[tuple[str, str], ...]:
    """{"alice": "s3cret"} (or pairs) -> sorted (name, password) pairs: hashable, frozen."""
    items = users.items() if isinstance(users, dict) else users
    return tuple(sorted((str(name), str(password)) for name, password in items))  # type: ignore[union-attr]


def _mechanisms(mechanisms: object) -> tuple[str, ...]:
    if isinstance(mechanisms, str):
        mechanisms = mechanisms.split(",")
    result = tuple(str(m).strip().upper() for m in mechanisms if str(m).strip())  # type: ignore[union-attr]
    for mechanism in result:
        if mechanism not in SASL_MECHANISMS:
            raise ValueError(f"SASL mechanism {mechanism} is not supported (one of {', '.join(SASL_MECHANISMS)})")
    return result


def _principals(names: Iterable[str] | str) -> tuple[str, ...]:
    """Principals as Kafka writes them: "User:alice"; a plain name "alice" is a user. A
    string is a comma- or semicolon-separated list, as super.users is."""
    if isinstance(names, str):
        names = names.replace(";", ",").split(",")
    out = []
    for name in names:
        name = name.strip()
        if name:
            out.append(name if ":" in name else f"User:{name}")
    return tuple(out)


def _racks(racks: object) -> tuple[str, ...]:
    """Racks as a tuple: from a comma-separated string ("a,b,c") or any iterable."""
    if isinstance(racks, str):
        racks = racks.split(",") if racks else ()
    return tuple(str(r).strip() for r in racks)  # type: ignore[attr-defined]


def parse_per_ip_overrides(value: Any) -> tuple[tuple[str, int], ...]:
    """``max.connections.per.ip.overrides`` as Kafka writes it, ``"host:count,host:count"`` (the
    count after the last colon, so an IPv6 address works), a dict or pairs; counts >= 0.
    Kept as sorted (host, count) pairs: the config stays hashable."""
    if not value:
        return ()
    if isinstance(value, str):
        pairs = {}
        for item in value.split(","):
            host, sep, count = item.strip().rpartition(":")
            if not sep or not host or not count.strip().isdigit():
                raise ValueError(f"max_connections_per_ip_overrides: {item.strip()!r} is not host:count")
            pairs[host.strip()] = int(count)
        return tuple(sorted(pairs.items()))
    result = dict(value)
    for host, count in result.items():
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"max_connections_per_ip_overrides: {host} has a count {count!r}, not an integer >= 0")
    return tuple(sorted(result.items()))


@attrs.frozen(kw_only=True)
class BrokerConfig:
    """Everything a broker needs to start.

    ``port`` 0 picks a free port; with several emulated brokers (``brokers`` > 1) node
    ``node_id + i`` listens on ``port + i`` (or on a free port each when ``port`` is 0).
    ``advertised_host`` / ``advertised_port`` are what Metadata tells clients to connect to;
    by default the bound host (``localhost`` for a wildcard bind) and the bound port.
    """

    host: str = attrs.field(default="localhost", validator=v.instance_of(str))
    port: int = attrs.field(default=9092, validator=[v.instance_of(int), v.ge(0), v.le(65535)])
    advertised_host: str | None = None
    advertised_port: int | None = attrs.field(default=None, validator=v.optional([v.ge(1), v.le(65535)]))
    node_id: int = attrs.field(default=0, validator=v.ge(0))
    brokers: int = attrs.field(default=1, validator=[v.ge(1), v.le(64)])
    # Controller quorum voters (kafkalite.broker.quorum): one is combined with a single broker
    # (its id), otherwise they are dedicated nodes 3000, 3001, ...
    controllers: int = attrs.field(default=1, validator=[v.instance_of(int), v.ge(1), v.le(9)])
    # request.timeout.ms: how long a metadata change without a timeout_ms of its own waits for
    # a controller quorum before it fails with REQUEST_TIMED_OUT.
    request_timeout_ms: int = attrs.field(default=30_000, validator=[v.instance_of(int), v.ge(0)])
    data_dir: Path = attrs.field(default=Path("kafkalite-data"), converter=Path)
    memory: bool = False
    cluster_id: str | None = None
    auto_create_topics: bool = True
    num_partitions: int = attrs.field(default=1, validator=v.ge(1))
    # default.replication.factor: min(3, brokers) unless given (1 for one broker).
    default_replication_factor: int = attrs.field(
        default=attrs.Factory(lambda self: min(3, self.brokers), takes_self=True), validator=v.ge(1)
    )
    # replica.lag.time.max.ms: a follower not caught up with its leader for this long (broker
    # clock) leaves the ISR.
    replica_lag_time_max_ms: int = attrs.field(default=30_000, validator=v.ge(1))
    # Automatic preferred leader election (kafkalite.broker.nodes): auto.leader.rebalance.enable
    # and leader.imbalance.check.interval.seconds, Kafka's names and defaults (broker clock).
    auto_leader_rebalance_enable: bool = True
    leader_imbalance_check_interval_seconds: int = attrs.field(default=300, validator=v.ge(1))
    # broker.rack of each node, in node id order (empty: no racks); KIP-392 replica selection.
    broker_racks: tuple[str, ...] = attrs.field(default=(), converter=_racks)
    replica_selector_class: str | None = attrs.field(default=None, validator=v.optional(v.in_((RACK_AWARE_SELECTOR,))))
    # socket.request.max.bytes: a frame declaring more is refused from its 4-byte size.
    max_request_bytes: int = attrs.field(default=DEFAULT_MAX_REQUEST_BYTES, validator=v.ge(1024))
    # Connection limits, per broker node, Kafka's names and defaults (kafkalite.server.listeners):
    # max.connections (over it, accepting waits until one closes), max.connections.per.ip (over
    # it, a new connection is closed at once) and max.connections.per.ip.overrides ("host:n,...").
    max_connections: int = attrs.field(default=2**31 - 1, validator=[v.instance_of(int), v.ge(1)])
    max_connections_per_ip: int = attrs.field(default=2**31 - 1, validator=[v.instance_of(int), v.ge(0)])
    max_connections_per_ip_overrides: tuple[tuple[str, int], ...] = attrs.field(
        default=(), converter=lambda value: parse_per_ip_overrides(value)
    )
    # connections.max.idle.ms: a connection with no request arriving (or a response it does not
    # read) for this long is closed; real time, not the broker clock (kafkalite.server.connection).
    connections_max_idle_ms: int = attrs.field(default=600_000, validator=[v.instance_of(int), v.ge(1)])
    trace: bool = False
    # With trace on, also write every request and response to this file as JSON lines.
    trace_file: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    # fsync every append (power-loss durability). Without it, appended data reaches the OS on
    # every append, which a kill -9 of the broker cannot lose.
    fsync: bool = False
    # How often retention (retention.ms / retention.bytes) and time-based flushes run, as
    # Kafka's log.retention.check.interval.ms (default 5 minutes).
    retention_check_interval_ms: int = attrs.field(default=300_000, validator=v.ge(1))
    # How often the log cleaner looks for logs to compact, as Kafka's log.cleaner.backoff.ms
    # (default 15 s): 2 s, so that tests see compaction soon.
    log_cleaner_backoff_ms: int = attrs.field(default=2_000, validator=v.ge(1))
    # Consumer groups (Kafka's names in snake_case). __consumer_offsets partitions
    # (offsets.topic.num.partitions); a group lives in abs(hash(group id)) % this.
    offsets_topic_partitions: int = attrs.field(default=50, validator=[v.ge(1), v.le(1000)])
    # group.initial.rebalance.delay.ms: how long a new group's first rebalance waits for more
    # members; each member arriving meanwhile extends the wait by another delay (Kafka's rule),
    # up to group_initial_rebalance_delay_max_ms (kafkalite's cap; Kafka's is the rebalance
    # timeout alone). Kafka's default is 3000 ms: a test's lone consumer would wait 3 s.
    group_initial_rebalance_delay_ms: int = attrs.field(default=INITIAL_REBALANCE_DELAY_MS, validator=v.ge(0))
    group_initial_rebalance_delay_max_ms: int = attrs.field(
        default=INITIAL_REBALANCE_DELAY_MAX_MS, validator=v.ge(0)
    )
    group_min_session_timeout_ms: int = attrs.field(default=6000, validator=v.ge(1))
    group_max_session_timeout_ms: int = attrs.field(default=1_800_000, validator=v.ge(1))
    group_max_size: int = attrs.field(default=2**31 - 1, validator=v.ge(1))
    # group.consumer.*: the consumer group protocol (KIP-848). The session timeout is Kafka's.
    group_consumer_heartbeat_interval_ms: int = attrs.field(default=CONSUMER_HEARTBEAT_INTERVAL_MS, validator=v.ge(1))
    group_consumer_session_timeout_ms: int = attrs.field(default=45_000, validator=v.ge(1))
    group_consumer_max_size: int = attrs.field(default=2**31 - 1, validator=v.ge(1))
    group_consumer_assignors: tuple[str, ...] = attrs.field(
        default=("uniform", "range"), converter=tuple, validator=v.deep_iterable(v.in_(("uniform", "range")))
    )
    # group.consumer.migration.policy: which online conversions between classic and consumer
    # groups are allowed (disabled, upgrade, downgrade, bidirectional; Kafka 4's default).
    group_consumer_migration_policy: str = attrs.field(
        default="bidirectional", validator=v.in_(("disabled", "upgrade", "downgrade", "bidirectional"))
    )
    offsets_retention_minutes: int = attrs.field(default=10080, validator=v.ge(1))
    offsets_retention_check_interval_ms: int = attrs.field(default=600_000, validator=v.ge(1))
    offset_metadata_max_bytes: int = attrs.field(default=4096, validator=v.ge(0))
    # Transactions (Kafka's names in snake_case). __transaction_state partitions
    # (transaction.state.log.num.partitions); a transactional id lives in abs(hash(id)) % this.
    transaction_state_partitions: int = attrs.field(default=50, validator=[v.ge(1), v.le(1000)])
    transaction_max_timeout_ms: int = attrs.field(default=900_000, validator=v.ge(1))
    transactional_id_expiration_ms: int = attrs.field(default=604_800_000, validator=v.ge(1))
    # transaction.abort.timed.out.transaction.cleanup.interval.ms
    transaction_abort_timed_out_interval_ms: int = attrs.field(default=10_000, validator=v.ge(1))
    # transaction.remove.expired.transaction.cleanup.interval.ms
    transaction_remove_expired_interval_ms: int = attrs.field(default=3_600_000, validator=v.ge(1))
    # Incremental fetch sessions (KIP-227) kept at once: max.incremental.fetch.session.cache.slots,
    # a static setting in Kafka too (not dynamic); 0 turns sessions off.
    max_incremental_fetch_session_cache_slots: int = attrs.field(default=1000, validator=v.ge(0))
    # The HTTP control API (fault rules, journal, clock, reset, health, metrics): off when
    # None, 0 picks a free port. It listens on http_host, by default the broker's host.
    http_port: int | None = attrs.field(default=None, validator=v.optional([v.instance_of(int), v.ge(0), v.le(65535)]))
    http_host: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    # The Schema Registry's own port (Confluent's API at its root; it is also under
    # /schema-registry on the HTTP port): off when None, 0 picks a free port; on http_host.
    schema_registry_port: int | None = attrs.field(
        default=None, validator=v.optional([v.instance_of(int), v.ge(0), v.le(65535)])
    )
    # The web console on the HTTP port may change data (add and clear fault rules from its
    # pages) only with this on; off, it is read-only and such requests answer 403.
    console_write: bool = attrs.field(default=False, validator=v.instance_of(bool))
    # The request journal: the last journal_size requests and responses, decoded, for tests
    # and the HTTP API (0: off, the default here; run_in_thread and the fixtures use
    # JOURNAL_SIZE); their record sets hold at most journal_record_bytes.
    journal_size: int = attrs.field(default=0, validator=[v.instance_of(int), v.ge(0)])
    journal_record_bytes: int = attrs.field(default=JOURNAL_RECORD_BYTES, validator=[v.instance_of(int), v.ge(0)])
    # Client quotas (kafkalite.broker.throttle): rates are measured over quota.window.num
    # samples of quota.window.size.seconds each, Kafka's defaults.
    quota_window_num: int = attrs.field(default=11, validator=[v.instance_of(int), v.ge(1)])
    quota_window_size_seconds: int = attrs.field(default=1, validator=[v.instance_of(int), v.ge(1)])
    # Producer id expiration (KIP-854): an idempotent producer's state with no write for
    # producer.id.expiration.ms is removed, checked every producer.id.expiration.check.interval.ms.
    producer_id_expiration_ms: int = attrs.field(default=86_400_000, validator=[v.instance_of(int), v.ge(1)])
    producer_id_expiration_check_interval_ms: int = attrs.field(default=600_000, validator=[v.instance_of(int), v.ge(1)])
    # The ACL authorizer (Kafka's authorizer.class.name set): off by default, every client may
    # do everything. super_users (super.users) may do everything with it on; a plain name is
    # taken as "User:name". allow_everyone_if_no_acl_found: a resource no ACL matches is open
    # (Kafka's default with an authorizer is closed).
    acls: bool = attrs.field(default=False, validator=v.instance_of(bool))
    super_users: tuple[str, ...] = attrs.field(default=(), converter=_principals)
    allow_everyone_if_no_acl_found: bool = attrs.field(default=False, validator=v.instance_of(bool))
    # Listeners (listeners, advertised.listeners, listener.security.protocol.map): None keeps
    # the one PLAINTEXT listener on host:port (advertised_host / advertised_port apply to it).
    listeners: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    advertised_listeners: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    listener_security_protocol_map: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    # TLS of the SSL and SASL_SSL listeners: PEM files; ssl_client_auth as ssl.client.auth.
    ssl_certfile: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    ssl_keyfile: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    ssl_cafile: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    ssl_client_auth: str = attrs.field(default="none", validator=v.in_(("required", "requested", "none")))
    # SASL (sasl.enabled.mechanisms) and its users: name -> password, from the fixture, a JSON
    # file ({"alice": "s3cret"}) or both; SCRAM keeps only salted credentials derived from them.
    sasl_mechanisms: tuple[str, ...] = attrs.field(default=SASL_MECHANISMS, converter=_mechanisms)
    users: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_users)
    users_file: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    scram_iterations: int = attrs.field(default=4096, validator=v.ge(4096))
    # connections.max.reauth.ms (KIP-368): 0 means sessions never expire.
    connections_max_reauth_ms: int = attrs.field(default=0, validator=v.ge(0))

    @property
    def listener_list(self) -> tuple[Listener, ...]:
        """The listeners to open on the first node, in order (the first is the bootstrap one)."""
        if self.listeners is None:
            return (Listener("PLAINTEXT", "PLAINTEXT", self.host, self.port),)
        return parse_listeners(self.listeners, parse_protocol_map(self.listener_security_protocol_map))

    @property
    def advertised_map(self) -> dict[str, tuple[str, int]]:
        """advertised.listeners by listener name (empty: advertise what is bound)."""
        if self.advertised_listeners is None:
            return {}
        return parse_advertised(
            self.advertised_listeners, self.listener_list, parse_protocol_map(self.listener_security_protocol_map)
        )

    def __attrs_post_init__(self) -> None:
        self._check_listeners()
        if self.max_connections_per_ip == 0 and not self.max_connections_per_ip_overrides:
            raise ValueError("max_connections_per_ip can be 0 only with max_connections_per_ip_overrides (Kafka's rule)")
        if self.http_host is not None and self.http_port is None and self.schema_registry_port is None:
            raise ValueError("http_host is only used with the HTTP API on: set http_port as well")
        if self.trace_file is not None and not self.trace:
            raise ValueError("trace_file is only written with trace on: set trace=True as well")
        if self.default_replication_factor > self.brokers:
            raise ValueError(
                f"default_replication_factor {self.default_replication_factor} is more than "
                f"the {self.brokers} emulated broker(s)"
            )
        if self.broker_racks and (len(self.broker_racks) != self.brokers or not all(self.broker_racks)):
            raise ValueError(
                f"broker_racks needs one non-empty rack per broker node ({self.brokers}), got {list(self.broker_racks)}"
            )
        if self.advertised_port is not None and self.brokers > 1:
            raise ValueError("advertised_port cannot be set with several emulated brokers")
        if (self.brokers > 1 or self.controllers > 1) and self.node_id + self.brokers > 3000:
            raise ValueError(
                f"broker ids {self.node_id}..{self.node_id + self.brokers - 1} overlap the controller ids "
                f"3000..{3000 + self.controllers - 1}: use a node_id below {3000 - self.brokers + 1}"
            )
        if self.group_consumer_heartbeat_interval_ms >= self.group_consumer_session_timeout_ms:
            raise ValueError(
                f"group_consumer_heartbeat_interval_ms {self.group_consumer_heartbeat_interval_ms} must be less "
                f"than group_consumer_session_timeout_ms {self.group_consumer_session_timeout_ms}"
            )
        if not self.group_consumer_assignors:
            raise ValueError("group_consumer_assignors needs at least one assignor (uniform, range)")
        if self.group_min_session_timeout_ms > self.group_max_session_timeout_ms:
            raise ValueError(
                f"group_min_session_timeout_ms {self.group_min_session_timeout_ms} is more than "
                f"group_max_session_timeout_ms {self.group_max_session_timeout_ms}"
            )

    def _check_listeners(self) -> None:
        listeners = self.listener_list  # raises ListenerConfigError (a ValueError) when malformed
        self.advertised_map  # likewise
        if self.listeners is not None and (self.advertised_host or self.advertised_port):
            raise ValueError("advertised_host / advertised_port go with host / port; with listeners use advertised_listeners")
        if self.advertised_listeners is not None and self.brokers > 1:
            raise ValueError("advertised_listeners cannot be set with several emulated brokers")
        if any(listener.uses_tls for listener in listeners) and (self.ssl_certfile is None or self.ssl_keyfile is None):
            raise ValueError("an SSL or SASL_SSL listener needs ssl_certfile and ssl_keyfile")
        if self.ssl_client_auth != "none" and self.ssl_cafile is None:
            raise ValueError(f"ssl_client_auth {self.ssl_client_auth} needs ssl_cafile to check client certificates")
        if any(listener.uses_sasl for listener in listeners) and not self.sasl_mechanisms:
            raise ValueError("a SASL listener needs at least one SASL mechanism")
        ports = [listener.port for listener in listeners if listener.port]
        spread = {port + i for port in ports for i in range(self.brokers)}
        if len(spread) != len(ports) * self.brokers:
            raise ValueError(
                f"with {self.brokers} brokers node i listens on each listener's port + i: "
                "space the listeners' ports at least that far apart"
            )
