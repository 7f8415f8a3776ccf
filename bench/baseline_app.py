"""The baseline of `cognito_cold_start.py`: the least a FastAPI app behind Mangum costs.

One route and the same Mangum wrap as `app/handler.py`; whatever `app.handler` costs on
top of this is the app's own.
"""

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"message": "hello"}


handler = Mangum(app, lifespan="off")
