"""Offline cost estimates for the stacks of this app, from their synthesized templates.

``python -m cost`` (``make cost``) prices every stack; prices are data in ``cost/prices/``,
usage in ``cost/profiles/``; ``cost.model`` maps template properties to metered quantities.
"""
