"""Clinical knowledge as data: tables, code maps, settings and references. No logic beyond lookups."""
