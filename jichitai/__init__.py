"""The product shell: FastAPI app, counter web UI, CLI, bootstrap wiring, demo data."""
