"""Routes about the service itself: health and the local pool's public keys."""
