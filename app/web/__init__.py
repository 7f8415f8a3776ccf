"""The browser frontend (static files, no build step)."""
