"""Real servers (Phoenix, ...) and the network sandbox used by the end-to-end tests."""
