"""Checking that the private names the hooks of genlab.compat use still exist."""


def absent(wanted: list[tuple]) -> list[str]:
    """'owner.name' for each name of `wanted` ([(owner, [names])], an owner being a module, class or object) that its
    owner lacks (a dataclass's fields count as present)."""
    return [f"{getattr(owner, '__name__', type(owner).__name__)}.{name}" for owner, names in wanted for name in names
            if not hasattr(owner, name) and name not in getattr(owner, "__dataclass_fields__", {})]
