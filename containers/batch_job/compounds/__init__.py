"""A batch job over a CSV of drug compounds: molecular weight, element counts and a rule-of-five
style screen from each compound's molecular formula, one shard of the rows per array child."""
