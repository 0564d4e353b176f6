"""Settings of the MCP server (``hopscout serve`` / ``hopscout-mcp``): flags or ``HOPSCOUT_*`` variables.

The engine's settings (``HOPSCOUT_HOME``, ``HOPSCOUT_COLLECTION``, ...) stay in :class:`hopscout.Settings`."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Transport = Literal["stdio", "http"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
        description="Address the HTTP transport binds. Anything but loopback needs HOPSCOUT_TOKEN.",
    )
    port: int = Field(default=8765, ge=0, le=65535, description="Port of the HTTP transport.")
    token: str | None = Field(
        default=None,
        description="Bearer token HTTP requests must carry "
        "(`Authorization: Bearer ...`); required off loopback, optional on it.",
    )
    read_only: bool = Field(
        default=False,
        description="Hide the write tools (add_documents, ingest, delete); "
        "the router offers (find_tools) and forwards (call_tool) only upstream tools marked read-only "
        "(readOnlyHint).",
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
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="Level of the server's log, written to stderr."
    )

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

    @field_validator("token")
    @classmethod
    def _blank_token(cls, value: str | None) -> str | None:
        return value.strip() if value and value.strip() else None

    @model_validator(mode="after")
    def _token_off_loopback(self) -> ServerSettings:
        if self.transport == "http" and not is_loopback(self.host) and not self.token:
            raise ValueError(
                f"serving HTTP on {self.host} (beyond loopback) needs a bearer token: set HOPSCOUT_TOKEN "
                "(or --token), or bind 127.0.0.1"
            )
        return self
