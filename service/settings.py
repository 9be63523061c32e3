"""Configuration from the environment (SPEC §2), with the signing keys kept in a key file by default."""

import functools
import json
import os
import secrets
import sys
import zoneinfo
from pathlib import Path

import msgspec

DEFAULT_DB = "./data/certledger.sqlite3"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    db_path: Path
    base_url: str
    secret_keys: tuple[str, ...]
    ledger_key: str
    admin_token: str | None
    issuer_name: str
    timezone: str
    public_rate_limit: int
    # Full participation (SPEC §6): joined at most this late, left at most this early, away at most this
    # long in between, in minutes.
    max_late_minutes: int = 15
    max_early_minutes: int = 10
    max_away_minutes: int = 10
    # A cap on the database's size in pages (PRAGMA max_page_count): how the tests fill the disk; an
    # operator may use it to keep the ledger from filling a shared disk.
    max_page_count: int | None = None


class SettingsError(Exception):
    """A configuration value is unusable; the message says which and why."""


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_iana_zone(name: str) -> bool:
    """A real IANA zone name ("America/New_York"); not "localtime", "Factory" or a file path."""
    return name in _iana_zones() and name not in ("localtime", "Factory", "posixrules")


def key_file_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".keys.json")


def _load_or_create_key_file(path: Path) -> dict[str, list[str] | str]:
    if path.exists():
        try:
            keys = json.loads(path.read_text())
            if isinstance(keys.get("secret_keys"), list) and isinstance(keys.get("ledger_key"), str):
                return keys
        except (ValueError, AttributeError):
            pass
        raise SettingsError(f"{path} is not a certledger key file; restore it from your backup")
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = {"secret_keys": [secrets.token_urlsafe(32)], "ledger_key": secrets.token_urlsafe(32)}
    # O_EXCL: two processes starting at once must not each write their own keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load_or_create_key_file(path)
    with os.fdopen(fd, "w") as handle:
        json.dump(keys, handle)
    return keys


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the environment once at start; every value is checked so that a typo fails loudly."""
    env = dict(os.environ if env is None else env)
    db_path = Path(env.get("CERTLEDGER_DB") or DEFAULT_DB)

    secret_keys = tuple(k.strip() for k in env.get("CERTLEDGER_SECRET_KEYS", "").split(",") if k.strip())
    ledger_key = env.get("CERTLEDGER_LEDGER_KEY", "").strip()
    if not secret_keys or not ledger_key:
        key_file = key_file_for(db_path)
        stored = _load_or_create_key_file(key_file)
        missing = [n for n, v in (("SECRET_KEYS", secret_keys), ("LEDGER_KEY", ledger_key)) if not v]
        print(
            f"certledger: CERTLEDGER_{' and CERTLEDGER_'.join(missing)} not set; using {key_file}. "
            "Production should set them (and back them up apart from the database).",
            file=sys.stderr,
        )
        secret_keys = secret_keys or tuple(stored["secret_keys"])
        ledger_key = ledger_key or str(stored["ledger_key"])

    timezone = env.get("CERTLEDGER_TIMEZONE") or "America/New_York"
    if not is_iana_zone(timezone):
        raise SettingsError(f"CERTLEDGER_TIMEZONE={timezone!r} is not an IANA time zone")

    rate = env.get("CERTLEDGER_PUBLIC_RATE_LIMIT", "120").strip()
    if not rate.isdigit():
        raise SettingsError(f"CERTLEDGER_PUBLIC_RATE_LIMIT={rate!r} must be a whole number (0 = off)")

    participation = {
        name: _minutes(env, variable, default)
        for name, variable, default in (
            ("max_late_minutes", "CERTLEDGER_MAX_LATE_MINUTES", 15),
            ("max_early_minutes", "CERTLEDGER_MAX_EARLY_MINUTES", 10),
            ("max_away_minutes", "CERTLEDGER_MAX_AWAY_MINUTES", 10),
        )
    }

    base_url = (env.get("CERTLEDGER_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise SettingsError(f"CERTLEDGER_BASE_URL={base_url!r} must start with http:// or https://")

    return Settings(
        db_path=db_path,
        base_url=base_url,
        secret_keys=secret_keys,
        ledger_key=ledger_key,
        admin_token=env.get("CERTLEDGER_ADMIN_TOKEN") or None,
        issuer_name=env.get("CERTLEDGER_ISSUER_NAME") or "IPS Central",
        timezone=timezone,
        public_rate_limit=int(rate),
        **participation,
        max_page_count=_optional_count(env, "CERTLEDGER_MAX_PAGE_COUNT"),
    )


def _optional_count(env: dict[str, str], variable: str) -> int | None:
    value = env.get(variable, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"{variable}={value!r} must be a whole number of pages")
    return int(value)


def _minutes(env: dict[str, str], variable: str, default: int) -> int:
    value = env.get(variable, str(default)).strip()
    if not value.isdigit() or int(value) > 240:
        raise SettingsError(f"{variable}={value!r} must be a whole number of minutes (0 to 240)")
    return int(value)
