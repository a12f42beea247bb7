"""Integrations with data engines; each needs its extra (``pip install "langaudit[ray]"``)."""
