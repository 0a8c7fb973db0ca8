"""The controller quorum: Raft voters of ``__cluster_metadata`` (`raft`), the metadata
records (`records`), and the quorum the broker commits its changes through (`quorum`)."""
