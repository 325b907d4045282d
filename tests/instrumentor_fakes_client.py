"""A stand-in client library for the instrumentor tests: importing it is all it does."""
