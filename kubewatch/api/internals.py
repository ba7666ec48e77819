"""The private parts of Flask, webargs and marshmallow that kubewatch relies on, gathered here.

Checked against the pins of requirements.txt: Flask 3.1.3, webargs 8.7.1, marshmallow 4.4.0.
tests/test_internals.py fails when an upgrade changes any of them (or a pin moves): read each
use below against the new version's source before moving a pin.
"""

import json

from flask_smorest.arguments import ArgumentsMixin

CHECKED_AGAINST = {"flask": "3.1.3", "webargs": "8.7.1", "marshmallow": "4.4.0"}


class JSONParser(type(ArgumentsMixin.ARGUMENTS_PARSER)):
    """flask-smorest's webargs parser, reading JSON that Python's decoder cannot hold as malformed."""

    def _raw_load_json(self, req):  # webargs: the one place a body's JSON is decoded
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        # Nested deeper than Python's stack, or an integer of more digits than Python converts:
        # malformed for us, not a crash. (webargs reads an empty doc as "no body", hence "body".)
        except (RecursionError, ValueError) as error:
            raise json.JSONDecodeError(type(error).__name__, "body", 0) from None


def declared_fields(schema_class):
    """Return {attribute: field} of a marshmallow schema class, as declared (marshmallow's _declared_fields)."""
    return schema_class._declared_fields


def per_request_work(app):
    """Return the names of what Flask does per request besides routing to the view and its after_request hooks."""
    return [name for name, used in (
        ("before_request", any(app.before_request_funcs.values())),
        ("teardown_request", any(app.teardown_request_funcs.values())),
        ("url_value_preprocessor", any(app.url_value_preprocessors.values())),
        ("TRUSTED_HOSTS", app.config.get("TRUSTED_HOSTS")),
        ("SERVER_NAME", app.config.get("SERVER_NAME")),
        ("host_matching", app.url_map.host_matching),
    ) if used]


def as_flask_sends(app, response):
    """Return a view's response as Flask sends it: after its after_request hooks (call in a request context)."""
    return app.process_response(response)


def as_flask_answers_error(app, error):
    """Return the response Flask gives an exception raised in a view: error handlers, then hooks."""
    return app.finalize_request(app.handle_user_exception(error))
