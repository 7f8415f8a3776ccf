"""authgate: sign-up, sign-in and API keys in front of a FastAPI app, on a laptop and on AWS."""
