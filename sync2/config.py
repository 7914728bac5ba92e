"""The configuration file: TOML, validated by pydantic, secrets from the environment.

``${VAR}`` anywhere in a string value is replaced by the environment variable ``VAR`` before
validation, so passwords never live in the file. A missing variable is an error that names the
key that asked for it. A validation error names the dotted key and what is wrong with it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from conflicts.demographics import Policy
from conflicts.strategies import Fallback, Strategy
from mappers.documents import RECORD_RESOURCE_TYPES

from ._errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class PassportConfig(_Model):
    store: str = Field(
        "sqlite:///passport.db",
        description="Where the passport lives: sqlite:///relative.db, sqlite:////abs.db or mongodb://…",
    )
    audit_retention_days: int = Field(
        365, ge=1, description="Audit entries older than this are pruned."
    )


class MatchingConfig(_Model):
    identifier_types: list[str] = Field(
        default_factory=lambda: ["National ID"],
        description="Identifier type names (or systems / type uuids) that carry the national ID.",
    )
    on_unmatched: Literal["create", "park", "skip"] = Field(
        "create",
        description="A patient with a national ID not yet in the passport: create it, park the "
        "records until the patient appears, or skip (counted and audited).",
    )


class RetryConfig(_Model):
    max_attempts: int = Field(8, ge=1, description="Tries before a failed event is dead-lettered.")
    backoff_seconds: float = Field(30.0, gt=0, description="First retry delay; doubles each try.")
    max_backoff_seconds: float = Field(3600.0, gt=0, description="Ceiling of the retry delay.")


class HttpConfig(_Model):
    timeout_seconds: float = Field(30.0, gt=0, description="Connect/read timeout per request.")
    retries: int = Field(
        4, ge=0, description="Tries for a transient HTTP failure (5xx, 429, timeout)."
    )
    verify_tls: bool = Field(True, description="Verify the hospital's TLS certificate.")
    ca_bundle: str | None = Field(None, description="Path to a CA bundle for a private CA.")
    max_response_bytes: int = Field(50_000_000, gt=0, description="Refuse bigger responses.")
    id_batch_size: int = Field(100, ge=1, le=100, description="uuids per _id=a,b,c search.")


#: Resource types whose passport content can be edited, so can conflict.
CONFLICT_TYPES = ("Patient", *RECORD_RESOURCE_TYPES)


class ConflictsConfig(_Model):
    """``[conflicts]``: the strategy for a record both the passport and its source changed."""

    default: Strategy = Field(
        "manual",
        description="Strategy for a type not named in per_type: source-wins, passport-wins, "
        "latest-wins (source meta.lastUpdated vs the passport edit time, ties to the source), "
        "manual (the conflict queue) or merge (field by field).",
    )
    per_type: dict[str, Strategy] = Field(
        default_factory=dict,
        description="Strategy per resource type (Patient, Observation, Encounter, "
        "AllergyIntolerance, Condition, MedicationRequest, MedicationDispense, ServiceRequest, "
        "DiagnosticReport), e.g. "
        '{Observation = "latest-wins", Patient = "merge"}.',
    )
    merge_fallback: Fallback = Field(
        "source-wins",
        description="For merge: who wins a field both sides changed differently "
        "(source-wins, passport-wins, latest-wins or manual).",
    )
    demographics: Policy = Field(
        "priority",
        description="Which hospital's version of a patient the passport shows: priority (the "
        "source's priority, then the latest) or latest (the most recently updated).",
    )

    @model_validator(mode="after")
    def _known_types(self) -> ConflictsConfig:
        for name in self.per_type:
            if name not in CONFLICT_TYPES:
                msg = f"per_type.{name}: not a conflict-checked type ({', '.join(CONFLICT_TYPES)})"
                raise ValueError(msg)
        return self

    def strategy_for(self, resource_type: str) -> Strategy:
        """The strategy configured for ``resource_type`` (else the default)."""
        return self.per_type.get(resource_type, self.default)


class AdminConfig(_Model):
    """``[admin]``: the admin HTTP API and the scheduler of ``sync2 serve`` / ``sync2 run``.

    Tokens never live in this file: they come from the environment variable named by
    ``token_env`` and/or the file named by ``token_file`` (see docs/service.md).
    """

    host: str = Field("127.0.0.1", description="Address the admin API listens on.")
    port: int = Field(8090, ge=0, le=65535, description="Port of the admin API (0 = any free).")
    token_env: str = Field(
        "SYNC2_API_TOKENS",
        description="Environment variable holding bearer tokens: 'role:token,...' "
        "(role admin or doctor; a bare token is an admin token).",
    )
    token_file: str | None = Field(
        None,
        description="File of bearer tokens, one 'role name token' (or 'role name sha256:HEX') "
        "a line; # starts a comment.",
    )
    audit_retention_days: int | None = Field(
        None,
        ge=1,
        description="Audit entries older than this are pruned by the scheduler; "
        "default: passport.audit_retention_days.",
    )
    auto_start: bool = Field(
        True, description="sync2 serve starts the scheduler at once (else POST start)."
    )
    lease_ttl_seconds: float = Field(
        60.0,
        gt=0,
        description="Length of a source lease when several workers share one passport.",
    )


# -- catchment ---------------------------------------------------------------------------------
# One model per strategy, told apart by ``strategy``; ``any`` / ``all`` nest them. The patterns
# are checked by the pure package (catchment.rule_from_dict), so a bad one fails at load.


class _CatchmentBase(_Model):
    on_leave: Literal["keep", "remove"] | None = Field(
        None,
        description="Only on the top rule: when a patient leaves the catchment, keep their "
        "records of that hospital, or mark them removed (audited). Default keep.",
    )

    @model_validator(mode="after")
    def _pure_check(self) -> _CatchmentBase:
        from catchment import rule_from_dict

        nested = getattr(self, "rules", None) or []
        if any(r.on_leave is not None for r in nested):
            msg = "on_leave belongs on the top catchment rule, not inside rules"
            raise ValueError(msg)
        rule_from_dict(self.model_dump(), "")  # raises CatchmentRuleError (a ValueError)
        return self


class CatchmentAll(_CatchmentBase):
    strategy: Literal["all"] = Field(description="all: no filter; with rules: every rule.")
    rules: list[CatchmentRule] = Field(
        default_factory=list, description="In when every rule says in (empty: everyone)."
    )


class CatchmentAny(_CatchmentBase):
    strategy: Literal["any"] = Field(description="any: in when one of the rules says in.")
    rules: list[CatchmentRule] = Field(min_length=1, description="The rules to try.")


class CatchmentAddress(_CatchmentBase):
    strategy: Literal["address"] = Field(description="The preferred (home) address.")
    patterns: list[str] = Field(
        min_length=1,
        description="Sync 2.0 atomfeed.filter.location patterns country%state%county%city%postal, "
        "* for any part, case-insensitive.",
    )
    if_missing: Literal["in", "out"] = Field("out", description="A patient with no address.")


class CatchmentLocation(_CatchmentBase):
    strategy: Literal["location"] = Field(
        description="Identifier location or encounter location in a set of locations."
    )
    locations: list[str] = Field(min_length=1, description="Location uuids or names.")
    include_children: bool = Field(
        True, description="Also the locations below them (Location.partOf)."
    )


class CatchmentIdentifier(_CatchmentBase):
    strategy: Literal["identifier"] = Field(description="An identifier type and value pattern.")
    identifier_type: str = Field(description="Identifier type name, system or type uuid.")
    pattern: str = Field(description="Regular expression the whole value must match.")
    normalise: bool = Field(
        True, description="Match the value without spaces, dashes and dots, upper-cased."
    )


class CatchmentCohort(_CatchmentBase):
    strategy: Literal["cohort"] = Field(description="An explicit list of national IDs.")
    national_ids: list[str] = Field(default_factory=list, description="National IDs, inline.")
    file: str | None = Field(
        None,
        description="A file of national IDs, one a line (# comments); read at load, relative "
        "to the working directory.",
    )

    @model_validator(mode="after")
    def _read_file(self) -> CatchmentCohort:
        if self.file:
            try:
                text = Path(self.file).read_text(encoding="utf-8")
            except OSError as exc:
                msg = f"cannot read cohort file {self.file}: {exc.strerror}"
                raise ValueError(msg) from exc
            lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
            self.national_ids = [*self.national_ids, *(x for x in lines if x)]
            self.file = None  # read once: the ids now live in national_ids
        return self


class CatchmentRegistered(_CatchmentBase):
    strategy: Literal["registered"] = Field(description="Only patients already in the passport.")


CatchmentRule = Annotated[
    CatchmentAll
    | CatchmentAny
    | CatchmentAddress
    | CatchmentLocation
    | CatchmentIdentifier
    | CatchmentCohort
    | CatchmentRegistered,
    Field(discriminator="strategy"),
]
CatchmentAll.model_rebuild()
CatchmentAny.model_rebuild()


def _no_empty_catchment(value: Any) -> Any:
    """``[catchment]`` with no keys (or an empty dict) means no rule."""
    return None if value == {} else value


#: Every atom feed category sync2 reads, in dependency order (what a record points at first).
DEFAULT_FEEDS = (
    "location",
    "patient",
    "visit",
    "encounter",
    "observation",
    "allergy",
    "condition",
    "diagnosis",
    "drug_order",
    "medication_dispense",
    "test_order",
    "diagnostic_report",
)


_TOKEN = re.compile(r"^[\x21-\x7e]+$")


def _check_token(token: str, kind: str, has_password: bool) -> None:
    """A bearer token goes in one HTTP header as it is: refuse what would be sent wrongly
    (the messages never repeat the token)."""
    if kind == "openmrs-mysql":
        msg = "token: not used by kind = 'openmrs-mysql' (its dsn carries the login)"
        raise ValueError(msg)
    if has_password:
        msg = "token: give either token or username/password, not both"
        raise ValueError(msg)
    if not _TOKEN.match(token):
        msg = "token: must be non-empty printable ASCII with no spaces"
        raise ValueError(msg)


def _check_session(kind: str, username: str | None, has_password: bool) -> None:
    """A REST session is opened with the username and password (never with a token)."""
    if kind != "openmrs-rest":
        msg = f"auth = 'session' is for kind = 'openmrs-rest', not '{kind}'"
        raise ValueError(msg)
    if not username or not has_password:
        msg = "auth = 'session' signs in with username and password: give both"
        raise ValueError(msg)


class SourceConfig(_Model):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Short stable id.")]
    name: str = Field(description="Hospital name shown in the passport.")
    kind: Literal["openmrs-fhir", "openmrs-rest", "openmrs-mysql"] = Field(
        "openmrs-fhir",
        description="openmrs-fhir (atom feed + FHIR R4), openmrs-rest (atom feed + REST "
        "/ws/rest/v1, for servers without fhir2) or openmrs-mysql (1.x).",
    )
    enabled: bool = Field(True, description="A disabled source is never synced.")
    base_url: str | None = Field(None, description="OpenMRS root, e.g. http://host:8080/openmrs.")
    username: str | None = Field(None, description="OpenMRS user (Basic auth).")
    password: SecretStr | None = Field(None, description="Its password; use ${VAR}.")
    token: SecretStr | None = Field(
        None,
        description="Bearer token instead of username/password (e.g. another sync2 passport's "
        "doctor token); use ${VAR}.",
    )
    auth: Literal["basic", "session"] = Field(
        "basic",
        description="openmrs-rest: basic (credentials on every request) or session (sign in "
        "once at /ws/rest/v1/session, then send the JSESSIONID cookie).",
    )
    feeds: list[str] = Field(
        default_factory=lambda: list(DEFAULT_FEEDS),
        description="Atom feed categories to follow, in this order. condition, diagnosis, "
        "medication_dispense and diagnostic_report are not in atomfeed's default configuration: "
        "a hospital publishes them once its customAtomfeedConfig.json lists them.",
    )
    mode: Literal["feed", "poll"] = Field(
        "feed", description="feed: follow the atom feed; poll: FHIR _lastUpdated polling."
    )
    poll_overlap_seconds: int = Field(
        60,
        ge=0,
        description="mode = poll: re-read this far behind the watermark (1-second timestamps, "
        "clock skew); what was already delivered is dropped by id and version.",
    )
    poll_recheck_per_run: int = Field(
        1000,
        ge=0,
        description="mode = poll: stored records re-read per run to find voids and deletes "
        "(searches leave them out); 0 = never.",
    )
    initial_sync: Literal["feed", "snapshot"] = Field(
        "snapshot",
        description="First sync: snapshot (FHIR search, then the feed from its head) or walk "
        "the whole feed from page 1.",
    )
    interval_seconds: float = Field(60.0, gt=0, description="Scheduler interval for this source.")
    dsn: SecretStr | None = Field(
        None, description="openmrs-mysql: mysql://user:${PW}@host:3306/db"
    )
    require_read_only: bool = Field(
        False, description="openmrs-mysql: refuse a user that can write."
    )
    tls_ca: str | None = Field(None, description="openmrs-mysql: CA file for TLS to MySQL.")
    catchment: Annotated[CatchmentRule | None, BeforeValidator(_no_empty_catchment)] = Field(
        None, description="Catchment rule for this source (replaces [catchment] for it)."
    )
    priority: int = Field(100, description="Demographics merge priority (lower wins).")

    @model_validator(mode="after")
    def _kind_needs(self) -> SourceConfig:
        if self.kind in ("openmrs-fhir", "openmrs-rest") and not self.base_url:
            msg = f"base_url is required for kind = '{self.kind}'"
            raise ValueError(msg)
        if self.kind == "openmrs-mysql" and self.dsn is None:
            msg = "dsn is required for kind = 'openmrs-mysql'"
            raise ValueError(msg)
        if self.token is not None:
            _check_token(self.token.get_secret_value(), self.kind, self.password is not None)
        if self.auth == "session":
            _check_session(self.kind, self.username, self.password is not None)
        return self


class Config(_Model):
    passport: PassportConfig = Field(default_factory=PassportConfig)  # type: ignore[arg-type]
    matching: MatchingConfig = Field(default_factory=MatchingConfig)  # type: ignore[arg-type]
    http: HttpConfig = Field(default_factory=HttpConfig)  # type: ignore[arg-type]
    retry: RetryConfig = Field(default_factory=RetryConfig)  # type: ignore[arg-type]
    catchment: Annotated[CatchmentRule | None, BeforeValidator(_no_empty_catchment)] = Field(
        None, description="Default catchment rule for every source (none: every patient)."
    )
    conflicts: ConflictsConfig = Field(
        default_factory=ConflictsConfig,  # type: ignore[arg-type]
        description="How a change made both in the passport and at the hospital is settled.",
    )
    admin: AdminConfig = Field(
        default_factory=AdminConfig,  # type: ignore[arg-type]
        description="Admin API and scheduler settings (sync2 serve / sync2 run).",
    )
    sources: list[SourceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Config:
        seen: set[str] = set()
        for src in self.sources:
            if src.id in seen:
                msg = f"sources: duplicate source id {src.id!r}"
                raise ValueError(msg)
            seen.add(src.id)
        return self

    def source(self, source_id: str) -> SourceConfig:
        for src in self.sources:
            if src.id == source_id:
                return src
        msg = f"no source with id {source_id!r} (known: {', '.join(s.id for s in self.sources)})"
        raise ConfigError(msg)


def expand_env(value: Any, env: Mapping[str, str], where: str = "") -> Any:
    """Replace ``${VAR}`` in every string of a parsed TOML tree.

    >>> expand_env({"a": ["x${U}y"]}, {"U": "1"})
    {'a': ['x1y']}
    """
    if isinstance(value, str):

        def _sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                msg = f"{where or 'value'}: environment variable {name} is not set"
                raise ConfigError(msg)
            return env[name]

        return _VAR.sub(_sub, value)
    if isinstance(value, dict):
        return {k: expand_env(v, env, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _describe(exc: ValidationError, data: Mapping[str, Any]) -> str:
    lines = []
    for err in exc.errors():
        parts: list[str] = []
        node: Any = data
        for loc in err["loc"]:
            if isinstance(loc, int) and isinstance(node, list) and loc < len(node):
                node = node[loc]
                ident = node.get("id") if isinstance(node, dict) else None
                parts.append(f"[{loc}]" + (f"(id={ident})" if ident else ""))
            else:
                node = node.get(loc) if isinstance(node, dict) else None
                parts.append(("." if parts else "") + str(loc))
        key = "".join(parts) or "(top level)"
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def parse_config(
    data: Mapping[str, Any], *, env: Mapping[str, str] | None = None, origin: str = "config"
) -> Config:
    """Validate an already-parsed TOML tree."""
    expanded = expand_env(dict(data), os.environ if env is None else env)
    try:
        return Config.model_validate(expanded)
    except ValidationError as exc:
        msg = f"{origin} is invalid:\n{_describe(exc, expanded)}"
        raise ConfigError(msg) from exc


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> Config:
    """Read, expand and validate a TOML config file.

    Raises:
        ConfigError: the file is missing, is not TOML, or a key is wrong (named in the message).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read config file {path}: {exc.strerror}"
        raise ConfigError(msg) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path} is not valid TOML: {exc}"
        raise ConfigError(msg) from exc
    literal = _literal_secrets(data)
    if literal:
        from ._secrets import warn_if_readable

        warn_if_readable(path, f"config file (with secrets written in it: {', '.join(literal)})")
    return parse_config(data, env=env, origin=str(path))


def _literal_secrets(data: Mapping[str, Any]) -> list[str]:
    """Keys whose secret is written in the file rather than taken from ``${VAR}``.

    >>> _literal_secrets({"sources": [{"password": "x"}, {"password": "${P}"},
    ...                               {"dsn": "mysql://u:pw@h/db"}, {"token": "t"}]})
    ['sources[0].password', 'sources[2].dsn', 'sources[3].token']
    """
    found = []
    for index, source in enumerate(data.get("sources") or []):
        if not isinstance(source, dict):
            continue
        for key in ("password", "token"):
            secret = source.get(key)
            if isinstance(secret, str) and secret and "${" not in secret:
                found.append(f"sources[{index}].{key}")
        dsn = source.get("dsn")
        if isinstance(dsn, str) and re.search(r"://[^/@:]+:(?!\$\{)[^@]+@", dsn):
            found.append(f"sources[{index}].dsn")
    return found
