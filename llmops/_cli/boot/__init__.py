"""The folder ``llmops run`` puts first on PYTHONPATH: only ``sitecustomize`` lives here."""
