"""The job side: RQ jobs that send what the outbox says is due, and the worker entry point."""
