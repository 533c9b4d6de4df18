"""Unit conversion as a tool: lengths, masses, volumes, temperatures, times, speeds, areas, energies and
pressures, through pint. The model picks each unit from a fixed list (the grammar holds it to one), so a small
model cannot name a unit that does not exist; the tool is offered when the objective names two units of one
kind, which is what a conversion asks."""

import re
from functools import cache
from typing import Any, Literal

from pydantic import Field, create_model

from agent.errors import ToolError
from agent.tools.base import Arguments, Tool
from agent.tools.calculator import format_number

# name the model writes -> (kind, pint expression, the words that name it in an objective)
UNITS: dict[str, tuple[str, str, str]] = {
    "millimetre": ("length", "millimeter", r"millimet(?:re|er)s?|mm"),
    "centimetre": ("length", "centimeter", r"centimet(?:re|er)s?|cm"),
    "metre": ("length", "meter", r"met(?:re|er)s?"),
    "kilometre": ("length", "kilometer", r"kilomet(?:re|er)s?|kms?"),
    "inch": ("length", "inch", r"inch(?:es)?"),
    "foot": ("length", "foot", r"foot|feet|ft"),
    "yard": ("length", "yard", r"yards?|yds?"),
    "mile": ("length", "mile", r"miles?"),
    "nautical_mile": ("length", "nautical_mile", r"nautical miles?"),
    "milligram": ("mass", "milligram", r"milligrams?|mg"),
    "gram": ("mass", "gram", r"grams?"),
    "kilogram": ("mass", "kilogram", r"kilo(?:gram)?s?|kg|kgs"),
    "tonne": ("mass", "metric_ton", r"tonnes?|metric tons?"),
    "ounce": ("mass", "ounce", r"ounces?|oz"),
    "pound": ("mass", "pound", r"pounds?|lbs?"),
    "stone": ("mass", "stone", r"stones?"),
    "millilitre": ("volume", "milliliter", r"millilit(?:re|er)s?|ml"),
    "litre": ("volume", "liter", r"lit(?:re|er)s?"),
    "teaspoon": ("volume", "teaspoon", r"teaspoons?|tsp"),
    "tablespoon": ("volume", "tablespoon", r"tablespoons?|tbsp"),
    "cup": ("volume", "cup", r"cups?"),
    "fluid_ounce": ("volume", "fluid_ounce", r"fluid ounces?|fl\.? oz"),
    "pint": ("volume", "pint", r"pints?"),
    "quart": ("volume", "quart", r"quarts?"),
    "gallon": ("volume", "gallon", r"gallons?"),
    "celsius": ("temperature", "degC", r"celsius|centigrade|°\s*c|degrees? c"),
    "fahrenheit": ("temperature", "degF", r"fahrenheit|°\s*f|degrees? f"),
    "kelvin": ("temperature", "kelvin", r"kelvins?"),
    "millisecond": ("time", "millisecond", r"milliseconds?|ms"),
    "second": ("time", "second", r"seconds?|secs?"),
    "minute": ("time", "minute", r"minutes?|mins?"),
    "hour": ("time", "hour", r"hours?|hrs?"),
    "day": ("time", "day", r"days?"),
    "week": ("time", "week", r"weeks?"),
    "kilometre_per_hour": ("speed", "kilometer / hour", r"kilomet(?:re|er)s? (?:per|an|a) hour|km/h|kph"),
    "mile_per_hour": ("speed", "mile / hour", r"miles? (?:per|an|a) hour|mph"),
    "metre_per_second": ("speed", "meter / second", r"met(?:re|er)s? (?:per|a) second|m/s"),
    "knot": ("speed", "knot", r"knots?"),
    "square_metre": ("area", "meter ** 2", r"square met(?:re|er)s?|m2|m²"),
    "square_kilometre": ("area", "kilometer ** 2", r"square kilomet(?:re|er)s?|km2|km²"),
    "square_foot": ("area", "foot ** 2", r"square (?:foot|feet)|sq\.? ?ft"),
    "square_mile": ("area", "mile ** 2", r"square miles?"),
    "acre": ("area", "international_acre", r"acres?"),
    "hectare": ("area", "hectare", r"hectares?|ha"),
    "joule": ("energy", "joule", r"joules?"),
    "kilojoule": ("energy", "kilojoule", r"kilojoules?|kj"),
    "calorie": ("energy", "calorie", r"calories?"),
    "kilocalorie": ("energy", "kilocalorie", r"kilocalories?|kcal"),
    "kilowatt_hour": ("energy", "kilowatt_hour", r"kilowatt[- ]hours?|kwh"),
    "pascal": ("pressure", "pascal", r"pascals?"),
    "bar": ("pressure", "bar", r"bars?"),
    "psi": ("pressure", "psi", r"psi"),
    "atmosphere": ("pressure", "atmosphere", r"atmospheres?|atm"),
}
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
_MENTION = {name: re.compile(rf"(?<![\w°]){words}(?![\w/])", re.IGNORECASE) for name, (_, _, words) in UNITS.items()}


def _mentioned(objective: str) -> list[str]:
    """The units the objective names, of the kinds it names two or more units of, in table order."""
    kinds: dict[str, list[str]] = {}
    for name, pattern in _MENTION.items():
        if pattern.search(objective):
            kinds.setdefault(UNITS[name][0], []).append(name)
    pairs = {kind for kind, names in kinds.items() if len(names) >= 2}
    return [name for name in UNITS if UNITS[name][0] in pairs and name in kinds[UNITS[name][0]]]


def names_two_units(objective: str) -> bool:
    """Whether the objective names two different units of one kind (kilometres and miles, hours and minutes)."""
    return bool(_mentioned(objective))


@cache
def _registry() -> Any:
    import pint

    registry: Any = pint.UnitRegistry()
    registry.define("international_acre = 43560 * foot ** 2")  # pint's own acre is the US survey acre
    return registry


def _arguments(units: tuple[str, ...]) -> type[Arguments]:
    choice: Any = Literal[units]
    return create_model("convert_arguments", __base__=Arguments,
                        value=(float, Field(description="the number of from_unit")),
                        from_unit=(choice, Field(description="the unit the value is in")),
                        to_unit=(choice, Field(description="the unit wanted")))


class Convert(Tool[Arguments]):
    """Offered for an objective that names two units of one kind, with exactly the units it names to choose
    from: a small model then only picks which is which."""

    name = "convert"
    description = "Convert a quantity from one unit to another, e.g. 12 metre to foot, 95 fahrenheit to celsius."
    Arguments = _arguments(tuple(UNITS))
    examples = [("How many feet are in 12 metres?", {"value": 12, "from_unit": "metre", "to_unit": "foot"})]

    def applies(self, objective: str) -> bool:
        return names_two_units(objective)

    def for_objective(self, objective: str) -> "Convert":
        units = _mentioned(objective)
        if not units:
            return self
        narrowed = Convert()
        narrowed.Arguments = _arguments(tuple(units))
        return narrowed

    def ungrounded(self, args: Any, given: str) -> str | None:
        stated = {float(n.replace(",", "")) for n in _NUMBER.findall(given)}
        if args.value not in stated:
            return f"value {format_number(args.value)} is not a number the objective or a result states"
        return None

    def run(self, args: Any) -> str:
        kind, source, _ = UNITS[args.from_unit]
        wanted_kind, target, _ = UNITS[args.to_unit]
        if kind != wanted_kind:
            raise ToolError(f"convert: {args.from_unit} is a {kind} and {args.to_unit} a {wanted_kind}; they do "
                            "not convert")
        registry = _registry()
        converted = registry.Quantity(args.value, registry.parse_units(source)).to(registry.parse_units(target))
        return format_number(round(float(converted.magnitude), 9))


convert = Convert()
