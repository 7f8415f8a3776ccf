"""Helpers the tests share: a real server process, the outbox, free ports."""
