"""The convert tool: units picked from a fixed list, converted by pint, offered when an objective names two
units of one kind."""

import pytest

from agent.errors import ToolError
from agent.tools.units import UNITS, convert, names_two_units


@pytest.mark.parametrize("value,source,target,expected", [
    (269, "kilometre", "mile", "167.148850712"), (95, "fahrenheit", "celsius", "35"), (57, "inch", "centimetre",
                                                                                        "144.78"),
    (36, "hour", "minute", "2160"), (8580, "second", "minute", "143"), (24, "kilogram", "pound", "52.910942924"),
    (0, "celsius", "kelvin", "273.15"), (100, "kilometre_per_hour", "mile_per_hour", "62.137119224"),
    (2, "acre", "square_metre", "8093.7128448"), (1, "gallon", "litre", "3.785411784"),
])
def test_conversions(value, source, target, expected):
    assert convert.run(convert.Arguments(value=value, from_unit=source, to_unit=target)) == expected


def test_units_of_different_kinds_do_not_convert_and_unknown_units_are_refused():
    with pytest.raises(ToolError, match="kilogram is a mass and mile a length"):
        convert.run(convert.Arguments(value=1, from_unit="kilogram", to_unit="mile"))
    with pytest.raises(ValueError):
        convert.Arguments(value=1, from_unit="furlong", to_unit="mile")  # not in the list the grammar offers
    schema = convert.Arguments.model_json_schema()
    assert "enum" in str(schema) and len(UNITS) >= 50


@pytest.mark.parametrize("objective,offered", [
    ("Convert 269 kilometres to miles.", True), ("My suitcase weighed 24 kg. What is that in pounds?", True),
    ("how many seconds are in 8 hours", True), ("Quick check: 120 minutes is how many hours?", True),
    ("The thermostat reads 95 °F. What is that temperature in Celsius?", True),
    ("What is 12 * 11?", False), ("A train travels 60 miles. How far does it go in 3 trips?", False),
    ("Name three fruits.", False), ("The film runs 143 min and costs 9 dollars.", False),
])
def test_offered_when_the_objective_names_two_units_of_one_kind(objective, offered):
    assert names_two_units(objective) is offered and convert.applies(objective) is offered


def test_a_run_is_offered_only_the_units_its_objective_names_and_values_it_states():
    offered = convert.for_objective("My suitcase weighed 24 kg and 3 bags. What is that in pounds, in miles?")
    schema = str(offered.Arguments.model_json_schema())
    assert "'enum': ['kilogram', 'pound']" in schema and "mile" not in schema
    with pytest.raises(ValueError):
        offered.Arguments(value=24, from_unit="kilogram", to_unit="ounce")
    assert offered.run(offered.Arguments(value=24, from_unit="kilogram", to_unit="pound")) == "52.910942924"
    given = "My suitcase weighed 24 kg. What is that in pounds?"
    assert offered.ungrounded(offered.Arguments(value=24, from_unit="kilogram", to_unit="pound"), given) is None
    assert "value 12 is not a number" in offered.ungrounded(
        offered.Arguments(value=12, from_unit="kilogram", to_unit="pound"), given)
    assert convert.for_objective("Name three fruits.") is convert
