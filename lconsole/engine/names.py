"""Turn a request's FunctionName (+ Qualifier) into a function name and qualifier."""

from __future__ import annotations

from lconsole.engine.validate import Problems, function_name, qualifier
from lconsole.model import arn as arns
from lconsole.model import errors


def resolve(
    value: str | None,
    qualifier_param: str | None,
    *,
    region: str,
    account: str,
    shape: str = "NamespacedFunctionName",
    check_account: bool = False,
) -> tuple[str, str | None]:
    problems = Problems()
    if value is None:
        problems.required(None, "functionName")
    else:
        function_name(problems, value, shape)
    qualifier(problems, qualifier_param)
    problems.raise_if_any()
    assert value is not None
    ref = arns.parse_function_ref(value)
    if ref is None:  # pattern passed but the name part is illegal for this op
        raise errors.not_found(f"Function not found: {arns.function_arn(region, account, value)}")
    if ref.region is not None and ref.region != region:
        raise errors.not_found(
            f"Functions from '{ref.region}' are not reachable in this region ('{region}')"
        )
    if check_account and ref.account is not None and ref.account != account:
        raise errors.LambdaError("AccessDeniedException", "", 403, "Message", None)
    q = ref.qualifier
    if qualifier_param is not None:
        if q is not None and q != qualifier_param:
            raise errors.invalid_parameter(
                "The derived qualifier from the function name does not match the specified "
                "qualifier."
            )
        q = qualifier_param
    return ref.name, q
