"""The lab's PostgreSQL triplet: one real cluster per lab cloud, streaming replication, gated failover."""
