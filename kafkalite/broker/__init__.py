"""The broker's state, shared by every handler: the cluster model (nodes, topics,
partitions, leaders), the partition logs behind one append path that wakes fetches, producer
state, topic configs, broker settings, and the handler registry with its request context.
Coordinators sit below it and reach it only through their ports."""
