"""One module per Kafka API, and the index of what they serve.

`SERVED` maps each API key to its handler module and the versions it serves. ApiVersions
answers from this table, so a handler module (and its message schemas) is imported only when
its API is first used: a broker starts without importing the other 25. Each module still
states its range in its ``@handles`` registration; the dispatcher refuses a module whose
range differs from this table, and a test imports every one to compare.
"""

from kafkalite.wire.api_keys import ApiKey

#: api key -> (module in this package, min version, max version)
SERVED: dict[int, tuple[str, int, int]] = {
    ApiKey.PRODUCE: ("produce", 0, 13),
    ApiKey.FETCH: ("fetch", 0, 18),
    ApiKey.LIST_OFFSETS: ("list_offsets", 0, 11),
    ApiKey.METADATA: ("metadata", 0, 13),
    ApiKey.OFFSET_COMMIT: ("offset_commit", 0, 10),
    ApiKey.OFFSET_FETCH: ("offset_fetch", 0, 10),
    ApiKey.FIND_COORDINATOR: ("find_coordinator", 0, 6),
    ApiKey.JOIN_GROUP: ("join_group", 0, 9),
    ApiKey.HEARTBEAT: ("heartbeat", 0, 4),
    ApiKey.LEAVE_GROUP: ("leave_group", 0, 5),
    ApiKey.SYNC_GROUP: ("sync_group", 0, 5),
    ApiKey.DESCRIBE_GROUPS: ("describe_groups", 0, 6),
    ApiKey.LIST_GROUPS: ("list_groups", 0, 5),
    ApiKey.API_VERSIONS: ("api_versions", 0, 4),
    ApiKey.CREATE_TOPICS: ("create_topics", 0, 7),
    ApiKey.DELETE_TOPICS: ("delete_topics", 0, 6),
    ApiKey.DELETE_RECORDS: ("delete_records", 0, 2),
    ApiKey.INIT_PRODUCER_ID: ("init_producer_id", 0, 5),
    ApiKey.ADD_PARTITIONS_TO_TXN: ("add_partitions_to_txn", 0, 5),
    ApiKey.ADD_OFFSETS_TO_TXN: ("add_offsets_to_txn", 0, 4),
    ApiKey.END_TXN: ("end_txn", 0, 4),
    ApiKey.TXN_OFFSET_COMMIT: ("txn_offset_commit", 0, 4),
    ApiKey.OFFSET_FOR_LEADER_EPOCH: ("offset_for_leader_epoch", 0, 4),
    ApiKey.DESCRIBE_ACLS: ("describe_acls", 0, 3),
    ApiKey.CREATE_ACLS: ("create_acls", 0, 3),
    ApiKey.DELETE_ACLS: ("delete_acls", 0, 3),
    ApiKey.DESCRIBE_CONFIGS: ("describe_configs", 0, 4),
    ApiKey.ALTER_CONFIGS: ("alter_configs", 0, 2),
    ApiKey.CREATE_PARTITIONS: ("create_partitions", 0, 3),
    ApiKey.DELETE_GROUPS: ("delete_groups", 0, 2),
    ApiKey.ELECT_LEADERS: ("elect_leaders", 0, 2),
    ApiKey.INCREMENTAL_ALTER_CONFIGS: ("incremental_alter_configs", 0, 1),
    ApiKey.OFFSET_DELETE: ("offset_delete", 0, 0),
    ApiKey.DESCRIBE_QUORUM: ("describe_quorum", 0, 2),
    ApiKey.DESCRIBE_CLUSTER: ("describe_cluster", 0, 2),
    ApiKey.DESCRIBE_PRODUCERS: ("describe_producers", 0, 0),
    ApiKey.DESCRIBE_TRANSACTIONS: ("describe_transactions", 0, 0),
    ApiKey.LIST_TRANSACTIONS: ("list_transactions", 0, 2),
    ApiKey.DESCRIBE_LOG_DIRS: ("describe_log_dirs", 0, 5),
    ApiKey.ALTER_PARTITION_REASSIGNMENTS: ("alter_partition_reassignments", 0, 1),
    ApiKey.LIST_PARTITION_REASSIGNMENTS: ("list_partition_reassignments", 0, 0),
    ApiKey.DESCRIBE_TOPIC_PARTITIONS: ("describe_topic_partitions", 0, 0),
    ApiKey.CONSUMER_GROUP_HEARTBEAT: ("consumer_group_heartbeat", 0, 1),
    ApiKey.CONSUMER_GROUP_DESCRIBE: ("consumer_group_describe", 0, 1),
    ApiKey.DESCRIBE_CLIENT_QUOTAS: ("describe_client_quotas", 0, 1),
    ApiKey.ALTER_CLIENT_QUOTAS: ("alter_client_quotas", 0, 1),
    ApiKey.SASL_HANDSHAKE: ("sasl_handshake", 0, 1),
    ApiKey.SASL_AUTHENTICATE: ("sasl_authenticate", 0, 2),
    ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS: ("describe_user_scram_credentials", 0, 0),
    ApiKey.ALTER_USER_SCRAM_CREDENTIALS: ("alter_user_scram_credentials", 0, 0),
}
