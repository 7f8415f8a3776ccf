"""The Lambda entry point: Mangum around the app, nothing else.

`lifespan="off"`: with it on, Mangum would run start-up and shut-down on every invocation.
The app builds its backends on first use, once per container.
"""

from mangum import Mangum

from app.main import app

handler = Mangum(app, lifespan="off")
