"""Importers and exporters: JSON records, tabular CSV/Parquet sets."""
