"""Logging trouble once per change of state, not once per cycle, and in one short line."""

import logging
import re

# The reason an OS call failed, as wrapped by requests, urllib3 and the docker SDK.
_OS_REASONS = (re.compile(r"\[Errno -?\d+\] ([^'\"\)\]]+)"), re.compile(r"\w+Error\(-?\d+, '([^']+)'\)"))
_MAX_REASON = 200


def one_line(error):
    """Return a short single-line reason for an exception, without the wrappers around it."""
    text = str(error)
    for pattern in _OS_REASONS:
        found = pattern.search(text)
        if found:
            return found.group(1).strip()
    text = " ".join(text.split()).rstrip(".") or type(error).__name__
    return text if len(text) <= _MAX_REASON else text[:_MAX_REASON] + "..."


class OutageLog:
    """Remember what is failing and why; log a line only when that changes."""

    def __init__(self, logger=None):
        self.logger = logger or logging.getLogger("kubewatch_agent")
        self._failing = {}

    def failed(self, subject, reason, level=logging.WARNING):
        """Log `subject: reason` unless the same reason was the last one logged for subject."""
        if self._failing.get(subject) != reason:
            self._failing[subject] = reason
            self.logger.log(level, "%s: %s", subject, reason)

    def recovered(self, subject, message="working again"):
        """Log that subject works again, when it was failing; return whether it was."""
        if self._failing.pop(subject, None) is None:
            return False
        self.logger.info("%s: %s", subject, message)
        return True
