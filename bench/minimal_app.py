"""The baseline of the cold-start benchmarks: the least a FastAPI app behind Mangum costs.

One route and the same Mangum wrap as `app/handler.py`; whatever `app.handler` costs on
top of this is the app's own.
"""

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


handler = Mangum(app, lifespan="off")
