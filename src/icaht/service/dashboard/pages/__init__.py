"""The dashboard pages, one module per page group, each with its own router (assembled by
``icaht.service.dashboard.routes``)."""
