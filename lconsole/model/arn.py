"""Function, layer and alias identifiers: AWS's patterns, parsing and formatting.

Every pattern is copied from botocore's Lambda model because AWS quotes them back verbatim in
ValidationException messages; the parse functions return plain values and never raise wire
errors themselves (validation lives in the engine).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REGION = r"((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
_PREFIX = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?" + _REGION + r"(\d{12}:)?(function:)?"

FUNCTION_NAME_PATTERN = _PREFIX + r"([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
NAMESPACED_FUNCTION_NAME_PATTERN = (
    _PREFIX + r"([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
UNQUALIFIED_FUNCTION_NAME_PATTERN = _PREFIX + r"([a-zA-Z0-9-_]+)"

QUALIFIER_PATTERN = r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+"
PROVISIONED_QUALIFIER_PATTERN = r"(|[a-zA-Z0-9$_-]+)"
ALIAS_PATTERN = r"(?!^[0-9]+$)([a-zA-Z0-9-_]+)"
VERSION_PATTERN = r"(\$LATEST|[0-9]+)"
VERSION_WITH_PUBLISHED_PATTERN = r"(\$LATEST(\.PUBLISHED)?|[0-9]+)"
ROLE_PATTERN = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
HANDLER_PATTERN = r"[^\s]+"
STATEMENT_ID_PATTERN = r"([a-zA-Z0-9-_]+)"
REMOVE_STATEMENT_ID_PATTERN = r"([a-zA-Z0-9-_.]+)"
PRINCIPAL_PATTERN = r"[^\s]+"
ACTION_PATTERN = r"(lambda:[*]|lambda:[a-zA-Z]+|[*])"
SOURCE_ACCOUNT_PATTERN = r"\d{12}"
PRINCIPAL_ORG_ID_PATTERN = r"o-[a-z0-9]{10,32}"
EVENT_SOURCE_TOKEN_PATTERN = r"[a-zA-Z0-9._\-]+"
LAYER_NAME_PATTERN = (
    r"(arn:[a-zA-Z0-9-]+:lambda:" + r"(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}"
    r":\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+"
)
LAYER_NAME_OR_ARN_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}"
    r":\d{12}:layer:[a-zA-Z0-9-_]{1,140}|[a-zA-Z0-9-_]{1,140})"
)
LAYER_VERSION_ARN_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}"
    r":\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)"
)
TAGGABLE_RESOURCE_PATTERN = (
    r"arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:"
    r"(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|"
    r"code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)"
)

LATEST = "$LATEST"

_NAME_RE = re.compile(
    r"^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?"
    r"(?:(?P<region>(?:eusc-)?[a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d{1}):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9-_\.]+)(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9-_]+))?$"
)


def full_match(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


@dataclass(frozen=True)
class FunctionRef:
    """A function named in a request: bare name, partial ARN or full ARN, maybe qualified."""

    name: str
    qualifier: str | None = None
    region: str | None = None
    account: str | None = None


def parse_function_ref(value: str) -> FunctionRef | None:
    """Split a FunctionName parameter; None when it matches no accepted form."""
    m = _NAME_RE.match(value)
    if m is None:
        return None
    return FunctionRef(m["name"], m["qualifier"], m["region"], m["account"])


def function_arn(region: str, account: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def layer_arn(region: str, account: str, name: str, version: int | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account}:layer:{name}"
    return f"{arn}:{version}" if version is not None else arn


_LAYER_VERSION_RE = re.compile(
    r"^arn:(?:aws[a-zA-Z-]*)?:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):layer:"
    r"(?P<name>[a-zA-Z0-9-_]+):(?P<version>[0-9]+)$"
)


@dataclass(frozen=True)
class LayerVersionRef:
    region: str
    account: str
    name: str
    version: int


def parse_layer_version_arn(value: str) -> LayerVersionRef | None:
    m = _LAYER_VERSION_RE.match(value)
    if m is None:
        return None
    return LayerVersionRef(m["region"], m["account"], m["name"], int(m["version"]))


def layer_name_from(value: str) -> str:
    """LayerName parameters may be a bare name or a layer ARN."""
    if value.startswith("arn:"):
        return value.rsplit(":", 1)[-1]
    return value


def is_version_number(qualifier: str) -> bool:
    return qualifier.isdigit()


def role_arn_is_valid(role: str) -> bool:
    return full_match(ROLE_PATTERN, role)
