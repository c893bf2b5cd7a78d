"""The one layer that touches private names of Lightning, Hydra, their plugins and torch.

`genlab.compat.hydra` holds the Hydra hooks (light: the commands import it before torch), `genlab.compat.optuna_sweeper`
those of hydra-optuna-sweeper and Optuna, `genlab.compat.lightning` those of Lightning,
`genlab.compat.torch_internals` those of torch. Each hook says why genlab needs it and what it buys. No other
genlab module uses a private name of these packages (tests/test_compat.py checks the source), so a new release is
checked here: `untested_versions()` names installed versions these hooks were not tested with, and
`missing_private_names()` the private names a release removed.
"""
from importlib import metadata

TESTED_VERSIONS = {"lightning": "2.6.", "hydra-core": "1.3.", "hydra-optuna-sweeper": "1.3."}


def untested_versions() -> list[str]:
    """'<package> <installed> (hooks tested with <prefix>*)' for each installed package outside TESTED_VERSIONS."""
    found = []
    for package, prefix in TESTED_VERSIONS.items():
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
        if not installed.startswith(prefix):
            found.append(f"{package} {installed} (hooks tested with {prefix}*)")
    return found


def missing_private_names() -> list[str]:
    """The private names the hooks of genlab.compat use that the installed packages do not have."""
    from genlab.compat import hydra, lightning, optuna_sweeper, torch_internals

    return (hydra.missing_private_names() + optuna_sweeper.missing_private_names() + lightning.missing_private_names()
            + torch_internals.missing_private_names())
