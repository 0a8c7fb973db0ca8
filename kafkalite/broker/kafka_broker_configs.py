"""Kafka 4.4.0's broker config names, as its DescribeConfigs reports them for a broker.

Two facts kafkalite needs to answer AlterConfigs / IncrementalAlterConfigs on BROKER resources as
Kafka does: which names Kafka lets change while it runs (its dynamic configs, "read_only": false,
per broker or cluster-wide), and which names it knows but does not (read-only: refused with
"Cannot update these configs dynamically"). A name in neither list is a custom config, which
Kafka stores and describes with a hidden value.

The dynamic configs kafkalite acts on are the defaults of topic configs (``log.retention.ms``,
``log.segment.bytes``, ``message.max.bytes``, ...): see `kafkalite.broker.broker_configs`. The
others are kept and described, without effect (kafkalite has no TLS, SASL, thread pools,
connection quotas, log cleaner or remote storage to reconfigure).
"""

from __future__ import annotations

from kafkalite.broker.topic_configs import BrokerConfigDef, ConfigType

_T = ConfigType

# The names Kafka 4.4.0 describes as read-only on a broker (besides custom ones).
KAFKA_READ_ONLY_BROKER_CONFIGS: frozenset[str] = frozenset(
    """
    add.partitions.to.txn.retry.backoff.max.ms add.partitions.to.txn.retry.backoff.ms
    advertised.listeners alter.config.policy.class.name alter.log.dirs.replication.quota.window.num
    alter.log.dirs.replication.quota.window.size.seconds authorizer.class.name auto.create.topics.enable
    auto.leader.rebalance.enable broker.heartbeat.interval.ms broker.id broker.rack
    broker.session.timeout.ms client.quota.callback.class connection.failed.authentication.delay.ms
    connections.max.idle.ms connections.max.reauth.ms controlled.shutdown.enable
    controller.listener.names controller.quorum.append.linger.ms controller.quorum.auto.join.enable
    controller.quorum.bootstrap.servers controller.quorum.election.backoff.max.ms
    controller.quorum.election.timeout.ms controller.quorum.fetch.max.bytes
    controller.quorum.fetch.snapshot.max.bytes controller.quorum.fetch.timeout.ms
    controller.quorum.request.timeout.ms controller.quorum.retry.backoff.ms controller.quorum.voters
    controller.quota.window.num controller.quota.window.size.seconds controller.socket.timeout.ms
    create.topic.policy.class.name default.replication.factor delegation.token.expiry.check.interval.ms
    delegation.token.expiry.time.ms delegation.token.max.lifetime.ms delegation.token.secret.key
    delete.records.purgatory.purge.interval.requests delete.topic.enable early.start.listeners
    fetch.max.bytes fetch.purgatory.purge.interval.requests group.consumer.assignors
    group.consumer.heartbeat.interval.ms group.consumer.max.assignment.interval.ms
    group.consumer.max.heartbeat.interval.ms group.consumer.max.session.timeout.ms
    group.consumer.max.size group.consumer.migration.policy group.consumer.min.assignment.interval.ms
    group.consumer.min.heartbeat.interval.ms group.consumer.min.session.timeout.ms
    group.consumer.session.timeout.ms group.coordinator.append.linger.ms
    group.coordinator.background.threads group.coordinator.rebalance.protocols group.coordinator.threads
    group.initial.rebalance.delay.ms group.max.session.timeout.ms group.max.size
    group.min.session.timeout.ms group.share.assignors group.share.delivery.count.limit
    group.share.heartbeat.interval.ms group.share.max.assignment.interval.ms
    group.share.max.delivery.count.limit group.share.max.heartbeat.interval.ms
    group.share.max.partition.max.record.locks group.share.max.record.lock.duration.ms
    group.share.max.session.timeout.ms group.share.max.share.sessions group.share.max.size
    group.share.min.assignment.interval.ms group.share.min.delivery.count.limit
    group.share.min.heartbeat.interval.ms group.share.min.partition.max.record.locks
    group.share.min.record.lock.duration.ms group.share.min.session.timeout.ms
    group.share.partition.max.record.locks group.share.record.lock.duration.ms
    group.share.session.timeout.ms group.streams.assignors group.streams.heartbeat.interval.ms
    group.streams.initial.rebalance.delay.ms group.streams.max.assignment.interval.ms
    group.streams.max.heartbeat.interval.ms group.streams.max.session.timeout.ms group.streams.max.size
    group.streams.max.standby.replicas group.streams.min.assignment.interval.ms
    group.streams.min.heartbeat.interval.ms group.streams.min.session.timeout.ms
    group.streams.num.standby.replicas group.streams.rack.aware.assignment.tags
    group.streams.session.timeout.ms group.streams.topology.description.plugin.class
    initial.broker.registration.timeout.ms inter.broker.listener.name
    kafka.metrics.polling.interval.secs kafka.metrics.reporters leader.imbalance.check.interval.seconds
    log.cleaner.enable log.dir log.dir.failure.timeout.ms log.dirs
    log.flush.offset.checkpoint.interval.ms log.flush.scheduler.interval.ms
    log.flush.start.offset.checkpoint.interval.ms log.retention.check.interval.ms log.retention.hours
    log.retention.minutes log.roll.hours log.roll.jitter.hours max.incremental.fetch.session.cache.slots
    max.request.partition.size.limit metadata.log.dir metadata.log.max.record.bytes.between.snapshots
    metadata.log.max.snapshot.interval.ms metadata.log.segment.bytes metadata.log.segment.ms
    metadata.max.idle.interval.ms metadata.max.retention.bytes metadata.max.retention.ms
    metrics.num.samples metrics.recording.level metrics.sample.window.ms node.id num.partitions
    num.replica.alter.log.dirs.threads offset.metadata.max.bytes offsets.commit.timeout.ms
    offsets.load.buffer.size offsets.retention.check.interval.ms offsets.retention.minutes
    offsets.topic.compression.codec offsets.topic.num.partitions offsets.topic.replication.factor
    offsets.topic.segment.bytes process.roles producer.purgatory.purge.interval.requests
    queued.max.request.bytes queued.max.requests quota.window.num quota.window.size.seconds
    remote.log.manager.copy.quota.window.num remote.log.manager.copy.quota.window.size.seconds
    remote.log.manager.fetch.quota.window.num remote.log.manager.fetch.quota.window.size.seconds
    remote.log.manager.task.interval.ms remote.log.manager.thread.pool.size
    remote.log.metadata.custom.metadata.max.bytes remote.log.metadata.manager.class.name
    remote.log.metadata.manager.class.path remote.log.metadata.manager.impl.prefix
    remote.log.metadata.manager.listener.name remote.log.reader.max.pending.tasks
    remote.log.storage.manager.class.name remote.log.storage.manager.class.path
    remote.log.storage.manager.impl.prefix remote.log.storage.system.enable replica.fetch.backoff.ms
    replica.fetch.max.bytes replica.fetch.min.bytes replica.fetch.response.max.bytes
    replica.fetch.wait.max.ms replica.high.watermark.checkpoint.interval.ms replica.lag.time.max.ms
    replica.selector.class replica.socket.receive.buffer.bytes replica.socket.timeout.ms
    replication.quota.window.num replication.quota.window.size.seconds request.timeout.ms
    sasl.client.callback.handler.class sasl.login.callback.handler.class sasl.login.class
    sasl.login.connect.timeout.ms sasl.login.read.timeout.ms sasl.login.retry.backoff.max.ms
    sasl.login.retry.backoff.ms sasl.mechanism.controller.protocol
    sasl.oauthbearer.allow.unverified.audience sasl.oauthbearer.allow.unverified.issuer
    sasl.oauthbearer.assertion.algorithm sasl.oauthbearer.assertion.claim.aud
    sasl.oauthbearer.assertion.claim.exp.seconds sasl.oauthbearer.assertion.claim.iss
    sasl.oauthbearer.assertion.claim.jti.include sasl.oauthbearer.assertion.claim.nbf.seconds
    sasl.oauthbearer.assertion.claim.sub sasl.oauthbearer.assertion.file
    sasl.oauthbearer.assertion.private.key.file sasl.oauthbearer.assertion.private.key.passphrase
    sasl.oauthbearer.assertion.template.file sasl.oauthbearer.client.credentials.client.id
    sasl.oauthbearer.client.credentials.client.secret sasl.oauthbearer.clock.skew.seconds
    sasl.oauthbearer.expected.audience sasl.oauthbearer.expected.issuer
    sasl.oauthbearer.jwks.endpoint.refresh.ms sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms
    sasl.oauthbearer.jwks.endpoint.retry.backoff.ms sasl.oauthbearer.jwks.endpoint.url
    sasl.oauthbearer.jwt.retriever.class sasl.oauthbearer.jwt.validator.class sasl.oauthbearer.scope
    sasl.oauthbearer.scope.claim.name sasl.oauthbearer.sub.claim.name
    sasl.oauthbearer.token.endpoint.url sasl.server.callback.handler.class sasl.server.max.receive.size
    security.inter.broker.protocol security.providers share.coordinator.append.linger.ms
    share.coordinator.load.buffer.size share.coordinator.snapshot.update.records.per.snapshot
    share.coordinator.state.topic.compression.codec share.coordinator.state.topic.min.isr
    share.coordinator.state.topic.num.partitions share.coordinator.state.topic.replication.factor
    share.coordinator.state.topic.segment.bytes share.coordinator.threads
    share.coordinator.write.timeout.ms share.fetch.purgatory.purge.interval.requests
    socket.connection.setup.timeout.max.ms socket.connection.setup.timeout.ms socket.listen.backlog.size
    socket.receive.buffer.bytes socket.request.max.bytes socket.send.buffer.bytes ssl.allow.dn.changes
    ssl.allow.san.changes ssl.principal.mapping.rules telemetry.max.bytes
    transaction.abort.timed.out.transaction.cleanup.interval.ms transaction.max.timeout.ms
    transaction.remove.expired.transaction.cleanup.interval.ms transaction.state.log.load.buffer.size
    transaction.state.log.min.isr transaction.state.log.num.partitions
    transaction.state.log.replication.factor transaction.state.log.segment.bytes
    transaction.two.phase.commit.enable transactional.id.expiration.ms
""".split()
)

# Docs of the dynamic configs kafkalite keeps without acting on them, by what they tune.
_NO_TLS = "TLS setting of the broker's listeners (kafkalite has none: kept, without effect)."
_NO_SASL = "SASL setting of the broker's listeners (kafkalite has none: kept, without effect)."
_NO_THREADS = "Size of one of Kafka's thread pools (kafkalite runs on one trio loop: kept, without effect)."
_NO_CONNECTION_QUOTAS = "A connection quota (not enforced by kafkalite: kept, without effect)."
_NO_CLEANER = "A log cleaner setting (kafkalite has no log cleaner: kept, without effect)."
_NO_REMOTE = "A tiered storage setting (kafkalite has no remote storage: kept, without effect)."
_NOT_USED = "Kept and described; kafkalite does not use it."


def _defs(doc: str, *rows: tuple[str, ConfigType, str | None]) -> list[BrokerConfigDef]:
    return [BrokerConfigDef(name, type_, default, doc) for name, type_, default in rows]


# Kafka's dynamic broker configs that are not the defaults of topic configs (those are in
# `BROKER_CONFIGS` already), with Kafka's types and defaults.
OTHER_DYNAMIC_BROKER_CONFIGS: list[BrokerConfigDef] = [
    *_defs(
        _NO_TLS,
        ("ssl.cipher.suites", _T.LIST, ""),
        ("ssl.client.auth", _T.STRING, "none"),
        ("ssl.enabled.protocols", _T.LIST, "TLSv1.2,TLSv1.3"),
        ("ssl.endpoint.identification.algorithm", _T.STRING, "https"),
        ("ssl.engine.factory.class", _T.CLASS, None),
        ("ssl.key.password", _T.PASSWORD, None),
        ("ssl.keymanager.algorithm", _T.STRING, "SunX509"),
        ("ssl.keystore.certificate.chain", _T.PASSWORD, None),
        ("ssl.keystore.key", _T.PASSWORD, None),
        ("ssl.keystore.location", _T.STRING, None),
        ("ssl.keystore.password", _T.PASSWORD, None),
        ("ssl.keystore.type", _T.STRING, "JKS"),
        ("ssl.protocol", _T.STRING, "TLSv1.3"),
        ("ssl.provider", _T.STRING, None),
        ("ssl.secure.random.implementation", _T.STRING, None),
        ("ssl.trustmanager.algorithm", _T.STRING, "PKIX"),
        ("ssl.truststore.certificates", _T.PASSWORD, None),
        ("ssl.truststore.location", _T.STRING, None),
        ("ssl.truststore.password", _T.PASSWORD, None),
        ("ssl.truststore.type", _T.STRING, "JKS"),
        ("principal.builder.class", _T.CLASS,
         "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder"),
    ),
    *_defs(
        _NO_SASL,
        ("sasl.enabled.mechanisms", _T.LIST, "GSSAPI"),
        ("sasl.jaas.config", _T.PASSWORD, None),
        ("sasl.kerberos.kinit.cmd", _T.STRING, "/usr/bin/kinit"),
        ("sasl.kerberos.min.time.before.relogin", _T.LONG, "60000"),
        ("sasl.kerberos.principal.to.local.rules", _T.LIST, "DEFAULT"),
        ("sasl.kerberos.service.name", _T.STRING, None),
        ("sasl.kerberos.ticket.renew.jitter", _T.DOUBLE, "0.05"),
        ("sasl.kerberos.ticket.renew.window.factor", _T.DOUBLE, "0.8"),
        ("sasl.login.refresh.buffer.seconds", _T.SHORT, "300"),
        ("sasl.login.refresh.min.period.seconds", _T.SHORT, "60"),
        ("sasl.login.refresh.window.factor", _T.DOUBLE, "0.8"),
        ("sasl.login.refresh.window.jitter", _T.DOUBLE, "0.05"),
        ("sasl.mechanism.inter.broker.protocol", _T.STRING, "GSSAPI"),
    ),
    *_defs(
        _NO_THREADS,
        ("background.threads", _T.INT, "10"),
        ("num.io.threads", _T.INT, "8"),
        ("num.network.threads", _T.INT, "3"),
        ("num.recovery.threads.per.data.dir", _T.INT, "2"),
        ("num.replica.fetchers", _T.INT, "1"),
        ("remote.log.manager.copier.thread.pool.size", _T.INT, "10"),
        ("remote.log.manager.expiration.thread.pool.size", _T.INT, "10"),
        ("remote.log.manager.follower.thread.pool.size", _T.INT, "2"),
        ("remote.log.reader.threads", _T.INT, "10"),
    ),
    *_defs(
        _NO_CONNECTION_QUOTAS,
        ("max.connection.creation.rate", _T.INT, "2147483647"),
        ("max.connections", _T.INT, "2147483647"),
        ("max.connections.per.ip", _T.INT, "2147483647"),
        ("max.connections.per.ip.overrides", _T.STRING, ""),
    ),
    *_defs(
        _NO_CLEANER,
        ("log.cleaner.backoff.ms", _T.LONG, "15000"),
        ("log.cleaner.dedupe.buffer.size", _T.LONG, "134217728"),
        ("log.cleaner.io.buffer.load.factor", _T.DOUBLE, "0.9"),
        ("log.cleaner.io.buffer.size", _T.INT, "524288"),
        ("log.cleaner.io.max.bytes.per.second", _T.DOUBLE, "1.7976931348623157E308"),
        ("log.cleaner.threads", _T.INT, "1"),
    ),
    *_defs(
        _NO_REMOTE,
        ("follower.fetch.last.tiered.offset.enable", _T.BOOLEAN, "false"),
        ("remote.fetch.max.wait.ms", _T.INT, "500"),
        ("remote.list.offsets.request.timeout.ms", _T.LONG, "30000"),
        ("remote.log.index.file.cache.total.size.bytes", _T.LONG, "1073741824"),
        ("remote.log.manager.copy.max.bytes.per.second", _T.LONG, "9223372036854775807"),
        ("remote.log.manager.fetch.max.bytes.per.second", _T.LONG, "9223372036854775807"),
    ),
    *_defs(
        _NOT_USED,
        ("config.providers", _T.LIST, ""),
        ("cordoned.log.dirs", _T.LIST, ""),
        ("errors.deadletterqueue.auto.create.topics.enable", _T.BOOLEAN, "false"),
        ("errors.deadletterqueue.topic.name.prefix", _T.STRING, "dlq."),
        ("group.consumer.assignment.interval.ms", _T.INT, "1000"),
        ("group.coordinator.cached.buffer.max.bytes", _T.INT, "1048588"),
        ("group.share.assignment.interval.ms", _T.INT, "1000"),
        ("group.streams.assignment.interval.ms", _T.INT, "1000"),
        ("metric.reporters", _T.LIST, "org.apache.kafka.common.metrics.JmxReporter"),
        ("producer.id.expiration.ms", _T.INT, "86400000"),
        ("share.coordinator.cached.buffer.max.bytes", _T.INT, "1048588"),
        ("transaction.partition.verification.enable", _T.BOOLEAN, "true"),
    ),
]

# Kafka's SslConfigs.RECONFIGURABLE_CONFIGS: dynamic only with a listener prefix
# (listener.name.NAME.ssl.keystore.location), never under their own name.
LISTENER_PREFIX_ONLY: frozenset[str] = frozenset(
    {
        "ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
        "ssl.truststore.type", "ssl.truststore.location", "ssl.truststore.password",
        "ssl.keystore.certificate.chain", "ssl.keystore.key", "ssl.truststore.certificates",
    }
)

# Dynamic configs that only a broker id may set (Kafka: the security and listener configs, but
# the connection limits and network threads, which are cluster-wide).
_PER_BROKER_NAMES = frozenset({"listeners", "listener.security.protocol.map", "principal.builder.class"})


def is_per_broker_config(name: str) -> bool:
    """Whether dynamic broker config *name* may be set per broker id only, not cluster-wide."""
    return name in _PER_BROKER_NAMES or name.startswith(("ssl.", "sasl.")) or name.startswith("listener.name.")
