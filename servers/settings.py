"""Settings of the MCP server (``hopscout serve`` / ``hopscout-mcp``): flags or ``HOPSCOUT_*`` variables.

The engine's settings (``HOPSCOUT_HOME``, ``HOPSCOUT_COLLECTION``, ...) stay in :class:`hopscout.Settings`."""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Transport = Literal["stdio", "http"]

MIN_TOKEN_LENGTH = 32
MAKE_TOKEN = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(:(\d{1,5}|\*))?")
_ORIGIN = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(:(\d{1,5}|\*))?")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_every_address(host: str) -> bool:
    """Whether binding ``host`` listens on every address of the machine (``0.0.0.0``, ``::``)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as written in a URL or a Host header: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _split_list(value: object) -> object:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        return [p.strip() for item in value for p in str(item).split(",") if p.strip()]
    return value


class ServerSettings(BaseSettings):
    """How the MCP server is exposed. Each field reads ``HOPSCOUT_<FIELD>`` when not passed."""

    model_config = SettingsConfigDict(env_prefix="HOPSCOUT_", extra="ignore", validate_default=True)

    transport: Transport = Field(
        default="stdio",
        description="`stdio` (for a client that starts the server) "
        "or `http` (streamable HTTP at http://HOST:PORT/mcp).",
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address the HTTP transport binds. Anything but loopback needs a token; "
        "`0.0.0.0` / `::` also need HOPSCOUT_ALLOWED_HOSTS.",
    )
    port: int = Field(default=8765, ge=0, le=65535, description="Port of the HTTP transport.")
    token: SecretStr | None = Field(
        default=None,
        description=f"Bearer token HTTP requests must carry (`Authorization: Bearer ...`), at least "
        f"{MIN_TOKEN_LENGTH} characters (`{MAKE_TOKEN}`); required off loopback and in router mode. "
        "Environment only: `--token` is refused (the process list shows it).",
    )
    token_file: Path | None = Field(
        default=None,
        description="A file holding the bearer token instead of HOPSCOUT_TOKEN (read once at start, "
        "stripped; refused if readable by every user: `chmod 600`).",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="More `Host` header values HTTP requests may carry, comma-separated (`name`, "
        "`name:port` or `name:*`), besides the bind address (and localhost forms on loopback); "
        "others get 421. Required when binding `0.0.0.0` / `::`.",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="More `Origin` header values (browser pages) HTTP requests may carry, comma-separated "
        "(`https://app.example.com`, `http://localhost:*`), besides the server's own; others get 403.",
    )
    read_only: bool = Field(
        default=False,
        description="Hide the write tools (add_documents, ingest, delete); "
        "the router offers (find_tools) and forwards (call_tool) only the upstream tools its configuration makes "
        "read-only: a trusted server's readOnlyHint, or a server's readOnlyTools.",
    )
    roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Folders `ingest` may read, separated by `:` (`os.pathsep`) or commas. "
        "Unset: no ingest tool.",
    )
    upstream: Path | None = Field(
        default=None,
        description="Router mode: a JSON file of upstream MCP servers "
        "(`mcpServers` format) whose tools `find_tools` indexes and `call_tool` calls.",
    )
    profile: str | None = Field(
        default=None,
        description="Router mode: serve only this profile of the upstream file's `profiles` (servers, tool "
        "globs, tags): find_tools, describe_tool and call_tool see no tool outside it.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="Level of the server's log, written to stderr."
    )

    _bearer: SecretStr | None = PrivateAttr(default=None)

    @field_validator("roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for chunk in value.split(",") for p in chunk.split(os.pathsep)]
            return [p for p in parts if p]
        return value

    @field_validator("roots")
    @classmethod
    def _resolve_roots(cls, value: list[Path]) -> list[Path]:
        return [Path(p).expanduser().resolve() for p in value]

    @field_validator("token", mode="before")
    @classmethod
    def _blank_token(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("host")
    @classmethod
    def _bare_host(cls, value: str) -> str:
        """``[::1]`` binds as ``::1``; the brackets come back in URLs and Host headers."""
        return value.strip().removeprefix("[").removesuffix("]").lower()

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        hosts = [url_host(h.lower()) if h.count(":") > 1 and "[" not in h else h.lower() for h in value]
        bad = [h for h in hosts if not _HOST.fullmatch(h)]
        if bad:
            raise ValueError(
                f"HOPSCOUT_ALLOWED_HOSTS: {bad[0]!r} is not a Host header value: give a name or address, "
                "optionally with :port or :* (e.g. search.example.com:8765), comma-separated"
            )
        return hosts

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        origins = [o.lower().removesuffix("/") for o in value]
        bad = [o for o in origins if not _ORIGIN.fullmatch(o)]
        if bad:
            raise ValueError(
                f"HOPSCOUT_ALLOWED_ORIGINS: {bad[0]!r} is not an origin: give scheme://host[:port] without a "
                "path (e.g. https://app.example.com), comma-separated"
            )
        return origins

    @model_validator(mode="after")
    def _check_profile(self) -> ServerSettings:
        if self.profile is not None and self.upstream is None:
            raise ValueError(
                f"HOPSCOUT_PROFILE ({self.profile!r}) selects tools of the upstream servers: it needs router mode, "
                "HOPSCOUT_UPSTREAM (--upstream servers.json)"
            )
        return self

    @model_validator(mode="after")
    def _check_http(self) -> ServerSettings:
        """The HTTP transport's rules, checked at start: a token where one is needed (off loopback, router
        mode), long enough; known Host names when bound to every address. stdio ignores all of it."""
        if self.transport != "http":
            return self
        self._bearer = self._read_token()
        where = "HOPSCOUT_TOKEN_FILE" if self.token_file else "HOPSCOUT_TOKEN"
        secret = self._bearer.get_secret_value() if self._bearer else ""
        if self._bearer is not None and len(secret) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"the bearer token ({where}) is {len(secret)} characters; use at least {MIN_TOKEN_LENGTH}, "
                f"e.g. from: {MAKE_TOKEN}"
            )
        if self._bearer is not None and not all(33 <= ord(c) <= 126 for c in secret):
            raise ValueError(
                f"the bearer token ({where}) must be printable ASCII without spaces: {MAKE_TOKEN}"
            )
        if self._bearer is None and not is_loopback(self.host):
            raise ValueError(
                f"serving HTTP on {self.host} (beyond loopback) needs a bearer token: set HOPSCOUT_TOKEN or "
                "HOPSCOUT_TOKEN_FILE (--token-file), or bind 127.0.0.1"
            )
        if self._bearer is None and self.upstream is not None:
            raise ValueError(
                "router mode (HOPSCOUT_UPSTREAM) over HTTP needs a bearer token even on loopback, since "
                "call_tool runs upstream tools for any caller: set HOPSCOUT_TOKEN or HOPSCOUT_TOKEN_FILE "
                f"(--token-file); make one with: {MAKE_TOKEN}"
            )
        if is_every_address(self.host) and not self.allowed_hosts:
            raise ValueError(
                f"serving HTTP on {self.host} (every address) needs the names clients reach it by: set "
                f"HOPSCOUT_ALLOWED_HOSTS (comma-separated, e.g. search.example.com:{self.port}); requests "
                "naming any other Host are refused (DNS-rebinding protection)"
            )
        return self

    def _read_token(self) -> SecretStr | None:
        if self.token_file is None:
            return self.token
        if self.token is not None:
            raise ValueError("set HOPSCOUT_TOKEN or HOPSCOUT_TOKEN_FILE, not both")
        path = self.token_file.expanduser()
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the token file {path} (HOPSCOUT_TOKEN_FILE): {exc}") from None
        if os.name == "posix" and mode & stat.S_IROTH:
            raise ValueError(
                f"the token file {path} is readable by every user of this machine: chmod 600 {path}"
            )
        if not text:
            raise ValueError(f"the token file {path} (HOPSCOUT_TOKEN_FILE) is empty: {MAKE_TOKEN} > {path}")
        return SecretStr(text)

    @property
    def bearer_token(self) -> str | None:
        """The token HTTP requests must carry (HOPSCOUT_TOKEN or the token file's), checked when the settings
        were built with ``transport="http"``; None: no token check (loopback only, never router mode)."""
        return self._bearer.get_secret_value() if self._bearer else None

    def allowed_host_headers(self) -> list[str]:
        """Every ``Host`` value an HTTP request may carry: the bind address with its port (and the loopback
        names on loopback or every-address binds), then HOPSCOUT_ALLOWED_HOSTS; a name given without a port
        is allowed bare and with the server's port."""
        allowed = [f"{name}:{self._port}" for name in self._own_names()]
        if self.port in (80, 443):  # a client leaves the scheme's default port out of its Host header
            allowed += self._own_names()
        for host in self.allowed_hosts:
            has_port = ":" in host.rsplit("]", 1)[-1]
            allowed += [host] if has_port else [host, f"{host}:{self._port}"]
        return list(dict.fromkeys(allowed))

    def allowed_origin_headers(self) -> list[str]:
        """Every ``Origin`` an HTTP request may carry (none is fine: non-browser clients send none): the
        server's own ``http://`` origins for the default Host values, then HOPSCOUT_ALLOWED_ORIGINS."""
        own = [f"http://{name}:{self._port}" for name in self._own_names()]
        return list(dict.fromkeys(own + self.allowed_origins))

    @property
    def _port(self) -> str:
        return str(self.port) if self.port else "*"  # port 0: the system picks one at start

    def _own_names(self) -> list[str]:
        names = [] if is_every_address(self.host) else [url_host(self.host)]
        if is_loopback(self.host) or is_every_address(self.host):
            names += LOOPBACK_NAMES
        return list(dict.fromkeys(names))
