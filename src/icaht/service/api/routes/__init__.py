"""The API's routers, one module per resource (patients, their assessment, their data, the
catalogue, users, researcher exports, health); ``icaht.service.api`` mounts them."""
