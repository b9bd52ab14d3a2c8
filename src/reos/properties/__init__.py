"""Property and sale records: the store every later capability reads, and search."""
