"""Clinical knowledge as data: tables, code maps, settings, references; no logic beyond lookups."""
