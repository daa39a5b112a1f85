"""Publish targets from configuration (``targets.yml``, or the file ``SIHEYUAN_TARGETS`` names).

Why a file of its own: which database the department systems read, and whether every run
feeds it, is a deployment's reviewed decision, not a flag someone must remember. Why only the
*name* of an environment variable: a password must never sit in a reviewed file, so the
loader refuses a URL in it, and its error messages never echo a value that might hold one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from siheyuan.settings import ConfigurationError

TARGETS_ENV = "SIHEYUAN_TARGETS"
TARGETS_PATH = Path(__file__).with_name("targets.yml")
DEFAULT_URL_ENV = "SIHEYUAN_POSTGRES_URL"
# Exit code of `siheyuan run` when the version is published in the warehouse (CURRENT moved)
# but the publish to PostgreSQL after it failed: distinct from 1 (nothing published) and 2 (a
# configuration error), so a scheduler can retry only `siheyuan publish`.
POSTGRES_FAILED_EXIT = 3

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_POSTGRES_KEYS = frozenset({"url_env", "publish_on_run"})


@dataclass(frozen=True)
class PostgresTargetConfig:
    url_env: str = DEFAULT_URL_ENV
    publish_on_run: bool = False

    def url(self) -> str | None:
        """The URL from the environment (None when the variable is unset or blank)."""
        return os.environ.get(self.url_env, "").strip() or None


@dataclass(frozen=True)
class Targets:
    path: Path
    postgres: PostgresTargetConfig


def targets_path() -> Path:
    """``targets.yml`` of the package, or the file ``SIHEYUAN_TARGETS`` names (the convention of
    ``SIHEYUAN_SOURCES``: a deployment's own reviewed copy, the repository's left as it is)."""
    override = os.environ.get(TARGETS_ENV, "").strip()
    return Path(override).resolve() if override else TARGETS_PATH


def _fail(path: Path, message: str) -> ConfigurationError:
    return ConfigurationError(f"invalid publish targets {path}: {message}")


def load_targets(path: Path | None = None) -> Targets:
    """Read and check the targets file; every error names the file and never shows a value."""
    path = path or targets_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(path, f"cannot read it ({type(exc).__name__})") from exc
    except yaml.YAMLError as exc:  # its message quotes the text, which may hold a URL
        raise _fail(path, "not valid YAML") from exc
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise _fail(path, "needs a mapping of targets (postgres: …)")
    unknown = sorted(str(k) for k in raw if k != "postgres")
    if unknown:
        raise _fail(path, f"unknown target(s) {', '.join(unknown)} (known: postgres)")
    body = raw.get("postgres") or {}
    if not isinstance(body, dict):
        raise _fail(path, "postgres: needs url_env and publish_on_run")
    if "url" in body or "password" in body:
        raise _fail(
            path,
            "postgres: never put a URL or password in this file; name the environment variable "
            "that holds the URL in url_env",
        )
    extra = sorted(str(k) for k in body if k not in _POSTGRES_KEYS)
    if extra:
        raise _fail(
            path, f"postgres: unknown key(s) {', '.join(extra)} (known: url_env, publish_on_run)"
        )
    url_env = body.get("url_env", DEFAULT_URL_ENV)
    if not isinstance(url_env, str) or not _ENV_NAME.match(url_env):
        raise _fail(
            path,
            "postgres.url_env: must be the name of an environment variable (a URL, which may "
            "hold a password, never belongs in this file)",
        )
    publish_on_run = body.get("publish_on_run", False)
    if not isinstance(publish_on_run, bool):
        raise _fail(path, "postgres.publish_on_run: must be true or false")
    return Targets(path, PostgresTargetConfig(url_env, publish_on_run))
