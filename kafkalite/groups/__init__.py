"""The group coordinator: classic consumer groups (membership and rebalances as a state table
with trio deadlines) and committed offsets, persisted in ``__consumer_offsets`` through a
narrow port (`kafkalite.groups.port`); it knows nothing of the broker beyond it."""
