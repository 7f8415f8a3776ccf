"""API keys and usage plans: the plans file (`plans`), keys and counters (`keys`), token
buckets and quotas (`limiter`), the per-request decision (`enforcer`), the ASGI
middleware, and the `keys` command line (`cli`)."""
