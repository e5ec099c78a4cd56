"""Formula parsing and molecular weights, against values worked out by hand from the table."""

from __future__ import annotations

import pytest
from compounds.formula import FormulaError, hill_formula, molecular_weight, parse_formula


def test_simple_formula_counts_each_element() -> None:
    assert parse_formula("C6H12O6") == {"C": 6, "H": 12, "O": 6}


def test_glucose_weighs_its_atoms() -> None:
    # 6 x 12.011 + 12 x 1.008 + 6 x 15.999
    assert molecular_weight(parse_formula("C6H12O6")) == pytest.approx(180.156)


def test_caffeine_weighs_its_atoms() -> None:
    # 8 x 12.011 + 10 x 1.008 + 4 x 14.007 + 2 x 15.999
    assert molecular_weight(parse_formula("C8H10N4O2")) == pytest.approx(194.194)


def test_two_letter_elements_are_not_read_as_two_elements() -> None:
    assert parse_formula("NaCl") == {"Na": 1, "Cl": 1}
    assert parse_formula("CCl4") == {"C": 1, "Cl": 4}


def test_parenthesised_group_is_multiplied() -> None:
    assert parse_formula("Ca(OH)2") == {"Ca": 1, "O": 2, "H": 2}


def test_nested_groups_multiply_through() -> None:
    assert parse_formula("[Cu(NH3)4]SO4") == {"Cu": 1, "N": 4, "H": 12, "S": 1, "O": 4}


def test_repeated_element_is_summed() -> None:
    assert parse_formula("CH3COOH") == {"C": 2, "H": 4, "O": 2}


def test_hill_order_puts_carbon_and_hydrogen_first() -> None:
    assert hill_formula(parse_formula("CH3COOH")) == "C2H4O2"
    assert hill_formula(parse_formula("ClC6H4NO2")) == "C6H4ClNO2"
    assert hill_formula(parse_formula("H2SO4")) == "H2O4S"


@pytest.mark.parametrize(
    ("formula", "reason"),
    [
        ("", "empty formula"),
        ("   ", "empty formula"),
        ("Xx2", "unknown or unsupported element 'Xx'"),
        ("c6h6", "unexpected 'c'"),
        ("C6 H6", "unexpected ' '"),
        ("C6H12O6)", "unbalanced brackets"),
        ("(CH3", "unbalanced brackets"),
        ("(CH3]2", "unbalanced brackets"),
        ("2C", "count 2 does not follow"),
        ("H0", "a count of 0"),
        ("()2", "empty group"),
        ("C" * 201, "longer than 200"),
    ],
)
def test_malformed_formula_raises_with_reason(formula: str, reason: str) -> None:
    with pytest.raises(FormulaError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_formula(formula)
