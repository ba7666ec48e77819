"""The secret key kept in the instance folder, made on the first start."""

import os
import secrets
from pathlib import Path

from kubewatch.config import ConfigError


def secret_key(instance_path: Path) -> str:
    """Return the secret kept in the instance folder, creating it (mode 0600) on first start.

    Raises ConfigError when the file is there but holds no key.
    """
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked into place: no process ever reads a
        # half-written key, and when two start at once the first link wins for both.
        draft = instance_path / f".secret_key.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if not key:
        raise ConfigError(f"{path} is empty: delete it to have a new key made (everyone signs in again)")
    return key
