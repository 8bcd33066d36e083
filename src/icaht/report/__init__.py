"""Presenters: console tables, per-patient result rows."""
