"""One module per notebook, each ending in its declaration, ``NOTEBOOK = Notebook(...)``."""
