"""How many decimals the API gives each derived figure, so no float noise (50.099999999999994) reaches a reader.

Rates per second have 1 decimal; percentages, MiB and every other average or measured figure have 2.
Integers (counters, restart counts) are left as they are.
"""

from kubewatch.kinds import COUNTER, GAUGE, rate_field

RATE_PLACES = 1
PLACES = 2


def float_fields(kind):
    """Return ((field, places), ...) of the figures of kind that can be fractional in a point or a listed object."""
    found = []
    for metric in kind.metrics:
        if metric.how == COUNTER:
            found.append((rate_field(metric), RATE_PLACES))
        elif not metric.integer or metric.how == GAUGE:  # an integer gauge's average is fractional
            found.append((metric.field, PLACES))
        if metric.how == GAUGE:
            found.append((metric.field + "Max", PLACES))
    return tuple(found)


def rounded(shown, fields):
    """Round shown's floats named in fields (from float_fields) in place; return shown."""
    for field, places in fields:
        value = shown.get(field)
        if type(value) is float:
            shown[field] = round(value, places)
    return shown
