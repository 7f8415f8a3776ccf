"""The Lambda entry point: Mangum around the app (`app.stage`), nothing else.

`lifespan="off"`: with it on, Mangum would run start-up and shut-down on every invocation.
The app builds its backends on first use, once per container.
"""

from __future__ import annotations

import gc

from app.stage import lambda_handler

# Importing FastAPI and pydantic allocates hundreds of thousands of long-lived objects;
# without this the collector walks them again and again during the cold start. Freezing
# them afterwards also keeps every later collection from re-scanning them.
gc.disable()
try:
    from app.main import app
finally:
    gc.enable()
    gc.freeze()

handler = lambda_handler(app)
