"""The ``kafkalite`` command line: ``kafkalite serve`` (the default) starts a broker.

Every option of ``serve`` can also come from an environment variable, as containers are
configured: ``--advertised-host`` is ``KAFKALITE_ADVERTISED_HOST``, and so on.

The tools (``kafkalite topics``, ``groups``, ``produce``, ``consume``, ``dump-log``,
``health``) live in `kafkalite.tools`; this module only dispatches to them, before importing
trio or the broker, so that they start fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Sequence

from kafkalite.broker.settings import (
    SASL_MECHANISMS,
    CONSUMER_HEARTBEAT_INTERVAL_MS,
    DEFAULT_MAX_REQUEST_BYTES,
    INITIAL_REBALANCE_DELAY_MAX_MS,
    INITIAL_REBALANCE_DELAY_MS,
    JOURNAL_SIZE,
    BrokerConfig,
)
from kafkalite.tools import TOOLS
from kafkalite.tools.control import DEFAULT_HTTP_PORT

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")
_LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "debug", "info", "warning", "error"]


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"KAFKALITE_{name}", default)


def _env_int(name: str, default: int | None) -> int | None:
    raw = _env(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"KAFKALITE_{name} must be a whole number, not {raw!r}") from None


def _env_bool(name: str) -> bool:
    raw = (_env(name) or "").strip().lower()
    if raw not in _TRUE and raw not in _FALSE:
        # A typo must not silently mean "off" (KAFKALITE_MEMORY=ture would write to disk).
        raise SystemExit(f"KAFKALITE_{name} must be one of 1/0, true/false, yes/no, on/off, not {raw!r}")
    return raw in _TRUE


def _env_choice(name: str, default: str, choices: list[str]) -> str:
    raw = _env(name) or default
    if raw not in choices:
        raise SystemExit(f"KAFKALITE_{name} must be one of {', '.join(choices[: len(choices) // 2])}, not {raw!r}")
    return raw


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kafkalite", description="A Kafka broker in Python that real Kafka clients talk to."
    )
    sub = parser.add_subparsers(dest="command")
    s = sub.add_parser("serve", help="run a broker (the default)")
    add_serve_options(s)
    for name, (_module, help_text) in TOOLS.items():
        sub.add_parser(name, help=help_text, add_help=False)  # parsed by kafkalite.tools
    return parser


def add_serve_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--host", default=_env("HOST", "localhost"), help="address to listen on (default localhost)")
    s.add_argument("--port", type=int, default=_env_int("PORT", 9092), help="port (0 picks a free one)")
    s.add_argument("--advertised-host", default=_env("ADVERTISED_HOST"), help="host clients are told to connect to")
    s.add_argument("--advertised-port", type=int, default=_env_int("ADVERTISED_PORT", None))
    s.add_argument("--data-dir", default=_env("DATA_DIR", "kafkalite-data"))
    s.add_argument("--memory", action="store_true", default=_env_bool("MEMORY"), help="keep nothing on disk")
    s.add_argument("--fsync", action="store_true", default=_env_bool("FSYNC"),
                   help="fsync every append (survives power loss, slower)")
    s.add_argument("--retention-check-interval-ms", type=int,
                   default=_env_int("RETENTION_CHECK_INTERVAL_MS", 300_000),
                   help="how often retention and time-based flushes run (default 300000)")
    s.add_argument("--log-cleaner-backoff-ms", type=int,
                   default=_env_int("LOG_CLEANER_BACKOFF_MS", 2_000),
                   help="how often the log cleaner looks for logs to compact (default 2000)")
    s.add_argument("--default-replication-factor", type=int, default=_env_int("DEFAULT_REPLICATION_FACTOR", None),
                   help="replicas of a new topic (default: min(3, --brokers))")
    s.add_argument("--replica-lag-time-max-ms", type=int, default=_env_int("REPLICA_LAG_TIME_MAX_MS", 30_000),
                   help="a follower not caught up for this long leaves the ISR (default 30000)")
    s.add_argument("--node-id", type=int, default=_env_int("NODE_ID", 0))
    s.add_argument("--cluster-id", default=_env("CLUSTER_ID"),
                   help="cluster id (default: the data dir's, or a new one); a data dir of another cluster is refused")
    s.add_argument("--brokers", type=int, default=_env_int("BROKERS", 1), help="emulated broker nodes")
    s.add_argument("--no-auto-leader-rebalance", action="store_true", default=_env_bool("NO_AUTO_LEADER_REBALANCE"),
                   help="auto.leader.rebalance.enable=false: leadership goes back to preferred replicas only "
                        "through ElectLeaders")
    s.add_argument("--leader-imbalance-check-interval-seconds", type=int,
                   default=_env_int("LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS", 300),
                   help="how often (broker clock) leadership goes back to preferred replicas (default 300)")
    s.add_argument("--broker-racks", "--rack", default=_env("BROKER_RACKS", ""), metavar="RACK,...",
                   help="broker.rack of each node, comma-separated, one per broker (replicas spread over racks)")
    s.add_argument("--replica-selector-class", default=_env("REPLICA_SELECTOR_CLASS"),
                   help="replica.selector.class: org.apache.kafka.common.replica.RackAwareReplicaSelector lets "
                        "consumers with client.rack fetch from a replica in their rack (KIP-392)")
    s.add_argument("--controllers", type=int, default=_env_int("CONTROLLERS", 1),
                   help="controller quorum voters (1: combined with a single broker; else dedicated ids 3000+)")
    s.add_argument("--request-timeout-ms", type=int, default=_env_int("REQUEST_TIMEOUT_MS", 30_000),
                   help="how long a metadata change without a timeout of its own waits for a controller quorum")
    s.add_argument("--partitions", type=int, default=_env_int("PARTITIONS", 1),
                   help="partitions of an auto-created topic")
    s.add_argument("--no-auto-create-topics", action="store_true", default=_env_bool("NO_AUTO_CREATE_TOPICS"))
    s.add_argument("--offsets-topic-partitions", type=int, default=_env_int("OFFSETS_TOPIC_PARTITIONS", 50),
                   help="partitions of __consumer_offsets when it is created (offsets.topic.num.partitions)")
    s.add_argument("--group-initial-rebalance-delay-ms", type=int,
                   default=_env_int("GROUP_INITIAL_REBALANCE_DELAY_MS", INITIAL_REBALANCE_DELAY_MS),
                   help="wait this long for more members before a new group's first rebalance, again while "
                        f"members keep arriving (default {INITIAL_REBALANCE_DELAY_MS}; Kafka: 3000)")
    s.add_argument("--group-initial-rebalance-delay-max-ms", type=int,
                   default=_env_int("GROUP_INITIAL_REBALANCE_DELAY_MAX_MS", INITIAL_REBALANCE_DELAY_MAX_MS),
                   help=f"cap on that whole wait (default {INITIAL_REBALANCE_DELAY_MAX_MS}; "
                        "Kafka's cap is the rebalance timeout: give 2147483647)")
    s.add_argument("--group-min-session-timeout-ms", type=int, default=_env_int("GROUP_MIN_SESSION_TIMEOUT_MS", 6000))
    s.add_argument("--group-max-session-timeout-ms", type=int,
                   default=_env_int("GROUP_MAX_SESSION_TIMEOUT_MS", 1_800_000))
    s.add_argument("--group-consumer-heartbeat-interval-ms", type=int,
                   default=_env_int("GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS", CONSUMER_HEARTBEAT_INTERVAL_MS),
                   help=f"heartbeat interval of consumer group members, KIP-848 (default {CONSUMER_HEARTBEAT_INTERVAL_MS}; "
                        "Kafka: 5000)")
    s.add_argument("--group-consumer-session-timeout-ms", type=int,
                   default=_env_int("GROUP_CONSUMER_SESSION_TIMEOUT_MS", 45_000),
                   help="a consumer group member silent this long is removed (default 45000, as Kafka)")
    s.add_argument("--group-consumer-assignors", default=_env("GROUP_CONSUMER_ASSIGNORS") or "uniform,range",
                   help="server-side assignors of consumer groups, the first the default (uniform, range)")
    s.add_argument("--group-consumer-max-size", type=int, default=_env_int("GROUP_CONSUMER_MAX_SIZE", 2**31 - 1),
                   help="most members in one consumer group (GROUP_MAX_SIZE_REACHED beyond)")
    s.add_argument("--group-consumer-migration-policy", default=_env("GROUP_CONSUMER_MIGRATION_POLICY") or "bidirectional",
                   choices=("disabled", "upgrade", "downgrade", "bidirectional"),
                   help="online conversion between classic and consumer groups (group.consumer.migration.policy)")
    s.add_argument("--offsets-retention-minutes", type=int, default=_env_int("OFFSETS_RETENTION_MINUTES", 10080),
                   help="how long an empty group's committed offsets are kept")
    s.add_argument("--transaction-state-partitions", type=int, default=_env_int("TRANSACTION_STATE_PARTITIONS", 50),
                   help="partitions of __transaction_state when it is created (transaction.state.log.num.partitions)")
    s.add_argument("--transaction-max-timeout-ms", type=int, default=_env_int("TRANSACTION_MAX_TIMEOUT_MS", 900_000),
                   help="longest transaction.timeout.ms a producer may ask for")
    s.add_argument("--transaction-abort-timed-out-interval-ms", type=int,
                   default=_env_int("TRANSACTION_ABORT_TIMED_OUT_INTERVAL_MS", 10_000),
                   help="how often transactions past their timeout are looked for and aborted (Kafka: 10000)")
    s.add_argument("--fetch-session-cache-slots", type=int, default=_env_int("FETCH_SESSION_CACHE_SLOTS", 1000),
                   help="most incremental fetch sessions kept at once (max.incremental.fetch.session.cache.slots)")
    s.add_argument("--socket-request-max-bytes", type=int,
                   default=_env_int("SOCKET_REQUEST_MAX_BYTES", DEFAULT_MAX_REQUEST_BYTES),
                   help=f"largest request frame; a larger one closes the connection (default {DEFAULT_MAX_REQUEST_BYTES})")
    s.add_argument("--max-connections", type=int, default=_env_int("MAX_CONNECTIONS", 2**31 - 1),
                   help="most connections per broker node; over it, accepting waits until one closes")
    s.add_argument("--max-connections-per-ip", type=int, default=_env_int("MAX_CONNECTIONS_PER_IP", 2**31 - 1),
                   help="most connections from one address; over it, a new one is closed at once")
    s.add_argument("--max-connections-per-ip-overrides", default=_env("MAX_CONNECTIONS_PER_IP_OVERRIDES") or "",
                   metavar="HOST:N,...", help="per-address exceptions to --max-connections-per-ip")
    s.add_argument("--connections-max-idle-ms", type=int, default=_env_int("CONNECTIONS_MAX_IDLE_MS", 600_000),
                   help="close a connection idle this long (default 600000)")
    s.add_argument("--http-port", type=int, default=_env_int("HTTP_PORT", None),
                   help="serve the HTTP control API (faults, journal, clock, reset, health, metrics) on this port; "
                        f"0 picks a free one (default: off; the CLI's control commands look on {DEFAULT_HTTP_PORT})")
    s.add_argument("--schema-registry-port", type=int, default=_env_int("SCHEMA_REGISTRY_PORT", None),
                   help="serve the Schema Registry's API (Confluent's) at the root of this port, e.g. 8081; "
                        "0 picks a free one (default: off; it is also under /schema-registry on --http-port)")
    s.add_argument("--http-host", default=_env("HTTP_HOST") or None,
                   help="address the HTTP API listens on (default: the broker's --host)")
    s.add_argument("--console-write", action="store_true", default=_env_bool("CONSOLE_WRITE"),
                   help="let the web console on the HTTP port change data (add and clear fault rules); "
                        "default: read-only")
    s.add_argument("--journal-size", type=int, default=_env_int("JOURNAL_SIZE", 0),
                   help=f"keep the last N requests and responses, decoded, for the HTTP API's journal "
                        f"(default 0: off; e.g. {JOURNAL_SIZE})")
    s.add_argument("--quota-window-num", type=int, default=_env_int("QUOTA_WINDOW_NUM", 11),
                   help="client quotas: samples a rate is measured over (quota.window.num, default 11)")
    s.add_argument("--quota-window-size-seconds", type=int, default=_env_int("QUOTA_WINDOW_SIZE_SECONDS", 1),
                   help="client quotas: length of one sample (quota.window.size.seconds, default 1)")
    s.add_argument("--producer-id-expiration-ms", type=int, default=_env_int("PRODUCER_ID_EXPIRATION_MS", 86_400_000),
                   help="idle idempotent producer state is removed after this (producer.id.expiration.ms, default a day)")
    s.add_argument("--producer-id-expiration-check-interval-ms", type=int,
                   default=_env_int("PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS", 600_000),
                   help="how often idle producers are looked for (default 600000)")
    s.add_argument("--acls", action="store_true", default=_env_bool("ACLS"),
                   help="turn the ACL authorizer on (kafkalite acls add ...); off: every client may do everything")
    s.add_argument("--super-users", default=_env("SUPER_USERS") or "",
                   help="principals allowed everything with --acls, comma-separated (User:alice or alice)")
    s.add_argument("--allow-everyone-if-no-acl-found", action="store_true",
                   default=_env_bool("ALLOW_EVERYONE_IF_NO_ACL_FOUND"),
                   help="with --acls, a resource no ACL matches is open to all (allow.everyone.if.no.acl.found)")
    # Listeners, TLS and SASL (Kafka's listeners, advertised.listeners, ssl.*, sasl.*).
    s.add_argument("--listeners", default=_env("LISTENERS"),
                   help="NAME://HOST:PORT,... e.g. PLAINTEXT://:9092,SASL_SSL://:9094 (default: --host/--port)")
    s.add_argument("--advertised-listeners", default=_env("ADVERTISED_LISTENERS"),
                   help="NAME://HOST:PORT,... what Metadata tells the clients of each listener")
    s.add_argument("--listener-security-protocol-map", default=_env("LISTENER_SECURITY_PROTOCOL_MAP"),
                   help="NAME:PROTOCOL,... for custom listener names (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)")
    s.add_argument("--ssl-certfile", default=_env("SSL_CERTFILE"), help="the broker's certificate (PEM)")
    s.add_argument("--ssl-keyfile", default=_env("SSL_KEYFILE"), help="the broker's private key (PEM)")
    s.add_argument("--ssl-cafile", default=_env("SSL_CAFILE"), help="CA certificates that sign client certificates")
    s.add_argument("--ssl-client-auth", default=_env_choice("SSL_CLIENT_AUTH", "none", ["required", "requested", "none"]),
                   choices=["required", "requested", "none"], help="ssl.client.auth (default none)")
    s.add_argument("--sasl-mechanisms", default=_env("SASL_MECHANISMS") or ",".join(SASL_MECHANISMS),
                   help=f"enabled SASL mechanisms (default {','.join(SASL_MECHANISMS)})")
    s.add_argument("--users-file", default=_env("USERS_FILE"), metavar="PATH",
                   help='SASL users as JSON: {"alice": "s3cret", ...}')
    s.add_argument("--connections-max-reauth-ms", type=int, default=_env_int("CONNECTIONS_MAX_REAUTH_MS", 0),
                   help="SASL sessions expire after this long unless re-authenticated (KIP-368; 0: never)")
    s.add_argument("--log-level", default=_env_choice("LOG_LEVEL", "INFO", _LOG_LEVELS), choices=_LOG_LEVELS)
    s.add_argument("--trace", action="store_true", default=_env_bool("TRACE"),
                   help="learning mode: log every request and response, decoded, with the reasons of errors")
    s.add_argument("--trace-file", default=_env("TRACE_FILE"), metavar="PATH",
                   help="also write every request and response to PATH as JSON lines (implies --trace)")


def config_from_args(args: argparse.Namespace) -> BrokerConfig:
    return BrokerConfig(
        host=args.host,
        port=args.port,
        advertised_host=args.advertised_host,
        advertised_port=args.advertised_port,
        node_id=args.node_id,
        cluster_id=args.cluster_id or None,
        brokers=args.brokers,
        auto_leader_rebalance_enable=not args.no_auto_leader_rebalance,
        leader_imbalance_check_interval_seconds=args.leader_imbalance_check_interval_seconds,
        broker_racks=args.broker_racks,
        replica_selector_class=args.replica_selector_class or None,
        controllers=args.controllers,
        request_timeout_ms=args.request_timeout_ms,
        data_dir=args.data_dir,
        memory=args.memory,
        fsync=args.fsync,
        retention_check_interval_ms=args.retention_check_interval_ms,
        log_cleaner_backoff_ms=args.log_cleaner_backoff_ms,
        replica_lag_time_max_ms=args.replica_lag_time_max_ms,
        **({} if args.default_replication_factor is None else {"default_replication_factor": args.default_replication_factor}),
        num_partitions=args.partitions,
        auto_create_topics=not args.no_auto_create_topics,
        offsets_topic_partitions=args.offsets_topic_partitions,
        group_initial_rebalance_delay_ms=args.group_initial_rebalance_delay_ms,
        group_initial_rebalance_delay_max_ms=args.group_initial_rebalance_delay_max_ms,
        group_min_session_timeout_ms=args.group_min_session_timeout_ms,
        group_max_session_timeout_ms=args.group_max_session_timeout_ms,
        group_consumer_heartbeat_interval_ms=args.group_consumer_heartbeat_interval_ms,
        group_consumer_session_timeout_ms=args.group_consumer_session_timeout_ms,
        group_consumer_assignors=tuple(a.strip() for a in args.group_consumer_assignors.split(",") if a.strip()),
        group_consumer_max_size=args.group_consumer_max_size,
        group_consumer_migration_policy=args.group_consumer_migration_policy,
        offsets_retention_minutes=args.offsets_retention_minutes,
        transaction_state_partitions=args.transaction_state_partitions,
        transaction_max_timeout_ms=args.transaction_max_timeout_ms,
        transaction_abort_timed_out_interval_ms=args.transaction_abort_timed_out_interval_ms,
        max_incremental_fetch_session_cache_slots=args.fetch_session_cache_slots,
        journal_size=args.journal_size,
        max_request_bytes=args.socket_request_max_bytes,
        max_connections=args.max_connections,
        max_connections_per_ip=args.max_connections_per_ip,
        max_connections_per_ip_overrides=args.max_connections_per_ip_overrides,
        connections_max_idle_ms=args.connections_max_idle_ms,
        quota_window_num=args.quota_window_num,
        quota_window_size_seconds=args.quota_window_size_seconds,
        producer_id_expiration_ms=args.producer_id_expiration_ms,
        producer_id_expiration_check_interval_ms=args.producer_id_expiration_check_interval_ms,
        trace=args.trace or bool(args.trace_file),
        trace_file=args.trace_file or None,
        http_port=args.http_port,
        http_host=args.http_host,
        schema_registry_port=args.schema_registry_port,
        console_write=args.console_write,
        acls=args.acls,
        super_users=args.super_users,
        allow_everyone_if_no_acl_found=args.allow_everyone_if_no_acl_found,
        listeners=args.listeners or None,
        advertised_listeners=args.advertised_listeners or None,
        listener_security_protocol_map=args.listener_security_protocol_map or None,
        ssl_certfile=args.ssl_certfile or None,
        ssl_keyfile=args.ssl_keyfile or None,
        ssl_cafile=args.ssl_cafile or None,
        ssl_client_auth=args.ssl_client_auth,
        sasl_mechanisms=args.sasl_mechanisms,
        users_file=args.users_file or None,
        connections_max_reauth_ms=args.connections_max_reauth_ms,
    )


async def run_until_signalled(config: BrokerConfig) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully and return.

    Graceful: stop accepting, let in-flight requests finish (0.6 s at most), close the logs
    (see `kafkalite.drain`). A second signal during that time is ignored.
    """
    import trio

    from kafkalite.server.serve import serve

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            info = await nursery.start(serve, config)
            print(f"kafkalite listening on {info.bootstrap_servers}", flush=True)
            if len(info.listener_bound) > 1:
                for name, address in info.listener_addresses.items():
                    print(f"kafkalite listener {name} on {address}", flush=True)
            if info.http is not None:
                print(f"kafkalite HTTP API on {info.http_url}", flush=True)
            if info.schema_registry is not None or info.http is not None:
                print(f"kafkalite Schema Registry on {info.schema_registry_url}", flush=True)
            async for signum in signals:
                logging.getLogger("kafkalite").info("received %s, shutting down", signal.Signals(signum).name)
                info.shutdown()
                break


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in TOOLS:
        from kafkalite.tools import run

        return run(argv[0], argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        build_parser().print_help()
        return 0
    if not argv or argv[0].startswith("-"):
        argv.insert(0, "serve")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        logging.basicConfig(
            level=args.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        if (args.trace or args.trace_file) and args.log_level.upper() not in ("DEBUG", "INFO"):
            # The trace, and the cluster events between its requests (kafkalite.trace.tracer).
            for name in ("kafkalite.trace", "kafkalite.cluster", "kafkalite.quorum"):
                logging.getLogger(name).setLevel(logging.INFO)
        try:
            config = config_from_args(args)
        except (ValueError, TypeError) as exc:
            parser.error(str(exc))
        try:  # the users file and the certificates, read before anything is opened
            from kafkalite.server.session import load_users_file
            from kafkalite.server.tls import server_context

            if config.users_file is not None:
                load_users_file(config.users_file)
            if config.ssl_certfile is not None and config.ssl_keyfile is not None:
                server_context(config)
        except (OSError, ValueError) as exc:
            parser.error(f"cannot load the users file or TLS files: {exc}")
        import trio

        from kafkalite.broker.state import InconsistentClusterId
        from kafkalite.storage import KafkaStorageError

        try:
            trio.run(run_until_signalled, config)
        except (OSError, KafkaStorageError, InconsistentClusterId, ExceptionGroup) as exc:
            # trio's nurseries wrap start-up errors in (nested) exception groups.
            while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
                exc = exc.exceptions[0]
            if isinstance(exc, (KafkaStorageError, InconsistentClusterId)):
                print(f"kafkalite: {exc}", file=sys.stderr)
                return 1
            if not isinstance(exc, OSError):
                raise
            from kafkalite.server.http import HttpListenError

            if isinstance(exc, HttpListenError):
                print(f"kafkalite: {exc.strerror}", file=sys.stderr)
                return 1
            print(f"kafkalite: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
            return 1
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
