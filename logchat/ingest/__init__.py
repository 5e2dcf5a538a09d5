"""Ingestion: sources, format detection, parsers (pure), multi-line joining, templates (Drain3)."""
