"""Broker and store URLs as they may be shown: never with their password (logs, errors, progress lines)."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit, urlunsplit

STORE_SCHEMES = ("postgresql", "postgres")


def redact(url: str) -> str:
    """The URL with its password (and any password= query parameter) replaced by ***; anything that does not
    parse is shown only by its scheme, since whatever follows it may be a secret."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url.split(":", 1)[0] + "://***"
    user = parts.username or ""
    if parts.password is not None:
        user = f"{user}:***"
    netloc = f"{user}@{host}{port}" if user else f"{host}{port}"
    query = "&".join(
        f"{k}=***" if k.lower() in ("password", "sslpassword") else f"{k}={v}" if sep else k
        for k, sep, v in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, ""))


def is_store_url(target: str) -> bool:
    return target.split("://", 1)[0].lower() in STORE_SCHEMES and "://" in target
