"""Molecular formulas: parsing (``C6H12O6``, ``Ca(OH)2``, ``[Cu(NH3)4]SO4``) and weights.

No chemistry library: a formula is elements, counts and nested groups, which a small recursive
parser handles exactly. Weights are IUPAC standard atomic weights (abridged, 2021), enough for
the elements that occur in drug-like compounds and their salts.
"""

from __future__ import annotations

import re
from collections import Counter

ATOMIC_WEIGHTS: dict[str, float] = {
    "H": 1.008,
    "Li": 6.94,
    "B": 10.81,
    "C": 12.011,
    "N": 14.007,
    "O": 15.999,
    "F": 18.998,
    "Na": 22.990,
    "Mg": 24.305,
    "Al": 26.982,
    "Si": 28.085,
    "P": 30.974,
    "S": 32.06,
    "Cl": 35.45,
    "K": 39.098,
    "Ca": 40.078,
    "Fe": 55.845,
    "Co": 58.933,
    "Cu": 63.546,
    "Zn": 65.38,
    "Se": 78.971,
    "Br": 79.904,
    "Ag": 107.87,
    "Pt": 195.08,
    "I": 126.90,
    "Au": 196.97,
    "Bi": 208.98,
}

MAX_FORMULA_LENGTH = 200
_TOKEN = re.compile(r"([A-Z][a-z]?)|(\d+)|([(\[])|([)\]])")
_CLOSING = {"(": ")", "[": "]"}


class FormulaError(ValueError):
    """A formula that cannot be parsed, or names an element the table does not hold."""


def parse_formula(formula: str) -> Counter[str]:
    """Element -> atom count. Raises ``FormulaError`` with the reason for anything else."""
    text = formula.strip()
    if not text:
        raise FormulaError("empty formula")
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(f"formula longer than {MAX_FORMULA_LENGTH} characters")
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FormulaError(f"unexpected {text[position]!r} at position {position}")
        element, number, opening, closing = match.groups()
        if element:
            tokens.append(("element", element))
        elif number:
            tokens.append(("number", number))
        elif opening:
            tokens.append(("open", opening))
        else:
            tokens.append(("close", closing))
        position = match.end()

    counts, end = _group(tokens, 0, None)
    if end != len(tokens):  # a stray closing bracket stopped the top-level group
        raise FormulaError("unbalanced brackets")
    if not counts:
        raise FormulaError("no elements")
    return counts


def _group(
    tokens: list[tuple[str, str]], index: int, closer: str | None
) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    while index < len(tokens):
        kind, value = tokens[index]
        if kind == "close":
            if value != closer:
                raise FormulaError("unbalanced brackets")
            return counts, index + 1
        if kind == "number":
            raise FormulaError(f"count {value} does not follow an element or group")
        if kind == "element":
            if value not in ATOMIC_WEIGHTS:
                raise FormulaError(f"unknown or unsupported element {value!r}")
            part: Counter[str] = Counter({value: 1})
            index += 1
        else:
            part, index = _group(tokens, index + 1, _CLOSING[value])
            if not part:
                raise FormulaError("empty group")
        multiplier, index = _count(tokens, index)
        for element, count in part.items():
            counts[element] += count * multiplier
    if closer is not None:
        raise FormulaError("unbalanced brackets")
    return counts, index


def _count(tokens: list[tuple[str, str]], index: int) -> tuple[int, int]:
    if index < len(tokens) and tokens[index][0] == "number":
        value = int(tokens[index][1])
        if value == 0:
            raise FormulaError("a count of 0")
        return value, index + 1
    return 1, index


def molecular_weight(counts: Counter[str]) -> float:
    """Average molecular weight in g/mol, rounded to 3 decimals (the table's precision)."""
    return round(sum(ATOMIC_WEIGHTS[element] * n for element, n in counts.items()), 3)


def hill_formula(counts: Counter[str]) -> str:
    """The canonical (Hill) order: C, then H, then the rest alphabetically; without C, all
    alphabetically. Two spellings of one formula give one string."""
    order = sorted(counts)
    if "C" in counts:
        order = ["C"] + (["H"] if "H" in counts else []) + [e for e in order if e not in ("C", "H")]
    return "".join(f"{e}{counts[e] if counts[e] > 1 else ''}" for e in order)
