"""How many decimals the API gives each derived figure, so no float noise (50.099999999999994) reaches a reader.

Rates per second have 1 decimal; percentages, MiB and every other average or measured figure have 2.
Integers (counters, restart counts) are left as they are.
"""

from marshmallow import fields

from kubewatch.kinds import COUNTER, GAUGE

RATE_PLACES = 1
PLACES = 2


class Rounded(fields.Float):
    """A number answered with `places` decimals; an integer stays as it is."""

    def __init__(self, places, **kwargs):
        super().__init__(**kwargs)
        self.places = places

    def round(self, value):
        """Return value rounded to this field's places when it is a float, else as it is (None included)."""
        return round(value, self.places) if type(value) is float else value

    def _serialize(self, value, attr, obj, **kwargs):
        return self.round(value)


def places(metric):
    """Return the decimals of a metric's own figure in a point or a listed object, or None for an integer."""
    if metric.how == COUNTER:
        return RATE_PLACES  # of its rate per second
    return PLACES if not metric.integer or metric.how == GAUGE else None  # an integer gauge's average is fractional
