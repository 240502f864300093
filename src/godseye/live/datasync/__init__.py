"""The lab's asynchronous data: Redis streams (kind stream) and batch-synced object folders (kind object)."""
