"""The controller quorum: Raft voters of ``__cluster_metadata`` (`raft`), and the quorum the
broker commits its changes through (`quorum`); the records themselves are
`kafkalite.wire.metadata_records`."""
