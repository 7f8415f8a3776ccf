"""Tests of the identity backends."""
