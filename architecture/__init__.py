"""Architecture diagrams drawn from the synthesized templates (``python -m architecture``)."""
