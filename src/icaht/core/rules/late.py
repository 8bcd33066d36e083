"""Rules: placeholder until written."""
