"""Tests of token verification."""
