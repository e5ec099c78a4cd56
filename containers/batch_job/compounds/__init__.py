"""A batch job over a CSV of drug compounds (an ``id`` and a ``smiles`` column): each molecule
parsed and sanitized by RDKit, with its drug-likeness descriptors, canonical SMILES and
InChIKey, one shard of the rows per array child."""
