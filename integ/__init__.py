"""Integration tests: one integ-runner app per major variant of every stack (``integ_*.py``,
each with its ``.snapshot/``), the smoke checks they share with the local modes
(``integ/checker/smoke``), and ``python -m integ`` to synthesize, compare and run them."""
