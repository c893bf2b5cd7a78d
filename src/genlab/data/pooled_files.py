"""Base for datasets shipped as named files: a `pool` of standard parts, read from `data_dir`, downloadable."""
from pathlib import Path

from genlab.data.image_datamodule import ImageDataModule
from genlab.errors import ConfigError, DataError


class PooledFilesDataModule(ImageDataModule):
    """Subclasses set `title`, `parts` (part name → file names), their images' `native_size` and `native_channels`,
    the `default_pool` and `default_mirror` (where `download` fetches from), and implement `load_arrays` and
    `prepare_data`. An argument left None takes these defaults; `data_dir`, data/<name>."""

    title = ""
    parts: dict[str, tuple[str, ...]] = {}
    native_size, native_channels = 28, 1
    default_pool: tuple[str, ...] = ()
    default_mirror = ""

    def __init__(self, batch_size: int = 64, num_workers: int = 0, image_size: int | None = None,
                 channels: int | None = None, splits: tuple[float, float, float] = (0.7, 0.1, 0.2), seed: int = 0,
                 data_dir: str | None = None, pool: tuple[str, ...] | None = None, download: bool = False,
                 mirror: str | None = None, binarize: str | None = None, augment_shift: int = 0) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers,
                         image_size=self.native_size if image_size is None else image_size,
                         channels=self.native_channels if channels is None else channels, splits=splits, seed=seed,
                         binarize=binarize, augment_shift=augment_shift)
        self.data_dir = Path(data_dir or f"data/{self.name}")  # the configs give ${paths.data_dir}/<name>
        self.pool = self.pool_parts(self.default_pool if pool is None else pool)
        self.download = bool(download)
        self.mirror = str(mirror or self.default_mirror)

    def pool_parts(self, pool) -> list[str]:
        """`pool` as a list of part names, or ConfigError naming data.pool and the valid parts."""
        parts = [pool] if isinstance(pool, str) else list(pool)
        if not parts or any(part not in self.parts for part in parts):
            raise ConfigError(f"data.pool must list one or more of {', '.join(self.parts)}, got {parts!r}")
        return parts

    @property
    def files_dir(self) -> Path:
        """Where the part files live (data_dir unless a subclass nests them)."""
        return self.data_dir

    def pool_files(self) -> list[str]:
        """File names the pool needs, in pool order."""
        return [name for part in self.pool for name in self.parts[part]]

    def missing_files(self) -> list[str]:
        return [name for name in self.pool_files() if not (self.files_dir / name).is_file()]

    def missing_hint(self) -> str:
        return "copy them there, or set data.download=true to fetch them when online"

    def require_files(self) -> None:
        """DataError naming the directory, the missing files and how to get them."""
        missing, expected = self.missing_files(), self.pool_files()
        if missing:
            present = f" ({len(expected) - len(missing)} present)" if len(missing) < len(expected) else ""
            raise DataError(
                f"{self.title} files missing from {self.files_dir}: {', '.join(missing)}{present}; {self.missing_hint()}"
            )

    def describe_extras(self) -> dict:
        """The pool of standard parts and the directory read from."""
        return {"pool": list(self.pool), "data_dir": str(self.data_dir)}
