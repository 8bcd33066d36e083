"""The clinical service: FastAPI application, REST API under ``/api/v1``."""
