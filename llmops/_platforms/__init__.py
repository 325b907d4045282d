"""Built-in platforms; each module registers itself with @register_platform on import."""
