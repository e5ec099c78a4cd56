"""Constructs and stacks, one pattern per module; ``stacks.app`` composes them into the app."""
