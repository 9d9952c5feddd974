"""AWS Lambda's error family: code, HTTP status and the exact body casing AWS uses.

AWS is inconsistent about the message key (`Message` for ResourceNotFoundException, `message`
for most others) and about whether `Type` is present; each factory below pins one case so that
call sites only choose the situation, never the wire details.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LambdaError(Exception):
    code: str
    message: str
    status: int = 400
    message_key: str = "message"
    error_type: str | None = "User"
    extra: dict[str, object] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def body(self) -> dict[str, object]:
        out: dict[str, object] = dict(self.extra)
        if self.error_type is not None:
            out["Type"] = self.error_type
        out[self.message_key] = self.message
        return out


def not_found(message: str) -> LambdaError:
    return LambdaError("ResourceNotFoundException", message, 404, "Message")


def invalid_parameter(message: str, *, typed: bool = True) -> LambdaError:
    return LambdaError(
        "InvalidParameterValueException", message, 400, "message", "User" if typed else None
    )


def conflict(message: str) -> LambdaError:
    return LambdaError("ResourceConflictException", message, 409)


def precondition_failed(message: str) -> LambdaError:
    return LambdaError("PreconditionFailedException", message, 412)


def validation(problems: list[str]) -> LambdaError:
    """`N validation error(s) detected: a; b` as AWS's request validator phrases it."""
    n = len(problems)
    noun = "error" if n == 1 else "errors"
    return LambdaError(
        "ValidationException",
        f"{n} validation {noun} detected: " + "; ".join(problems),
        400,
        "message",
        None,
    )


def request_too_large(message: str) -> LambdaError:
    return LambdaError("RequestEntityTooLargeException", message, 413)


def too_many_requests(reason: str, retry_after: int = 1) -> LambdaError:
    return LambdaError(
        "TooManyRequestsException",
        "Rate Exceeded.",
        429,
        "message",
        "User",
        extra={"Reason": reason},
        headers={"Retry-After": str(retry_after)},
    )


def invalid_request_content(message: str) -> LambdaError:
    return LambdaError("InvalidRequestContentException", message, 400)


def provisioned_config_not_found(message: str) -> LambdaError:
    return LambdaError("ProvisionedConcurrencyConfigNotFoundException", message, 404)


def code_storage_exceeded() -> LambdaError:
    return LambdaError("CodeStorageExceededException", "Code storage limit exceeded.", 400)


def policy_length_exceeded(message: str) -> LambdaError:
    return LambdaError("PolicyLengthExceededException", message, 400)


def service_error(message: str) -> LambdaError:
    return LambdaError("ServiceException", message, 500, "Message", "Service")


def unsupported_media_type(message: str) -> LambdaError:
    return LambdaError("UnsupportedMediaTypeException", message, 415)
