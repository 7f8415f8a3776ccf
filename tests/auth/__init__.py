"""Tests of the auth API beyond the contract suite."""
