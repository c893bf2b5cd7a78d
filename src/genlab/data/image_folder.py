"""Any labelled image folder tree: each immediate subfolder of root is a class, its images decoded with Pillow."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from genlab.data.image_datamodule import ImageDataModule
from genlab.errors import ConfigError, DataError

DEFAULT_EXTENSIONS = (".png", ".jpg", ".jpeg")


def _suffixes(extensions) -> tuple[str, ...]:
    """Lower-case suffixes with a leading dot, or raise ConfigError naming data.extensions."""
    items = [extensions] if isinstance(extensions, str) else list(extensions or ())
    if not items or not all(isinstance(item, str) and item.strip(".") for item in items):
        raise ConfigError(f"data.extensions must list one or more file suffixes such as .png, got {items!r}")
    return tuple("." + item.lower().lstrip(".") for item in items)


class ImageFolderDataModule(ImageDataModule):
    """Images under root/<class>/ (searched recursively), labelled by sorted class name, resized to image_size."""

    name = "image_folder"

    def __init__(
        self,
        root: str,
        image_size: int = 32,
        channels: int = 3,
        extensions: tuple[str, ...] = DEFAULT_EXTENSIONS,
        batch_size: int = 64,
        num_workers: int = 0,
        splits: tuple[float, float, float] = (0.7, 0.1, 0.2),
        seed: int = 0,
        binarize: str | None = None,
        augment_shift: int = 0,
    ) -> None:
        super().__init__(batch_size, num_workers, image_size, channels, splits, seed, binarize=binarize,
                         augment_shift=augment_shift)
        if not isinstance(root, (str, Path)) or not str(root).strip():
            raise ConfigError(f"data.root must name a folder with one subfolder of images per class, got {root!r}")
        self.root = Path(root)
        self.extensions = _suffixes(extensions)
        self.classes: list[str] = []
        self.num_classes = 0  # per instance: set from the class folders by scan()

    def scan(self) -> dict[str, list[Path]]:
        """Class name -> its image files (sorted); sets classes and num_classes, or raises DataError."""
        if not self.root.is_dir():
            raise DataError(
                f"image folder {self.root} does not exist; set data.root to a folder with one subfolder per class"
            )
        class_dirs = sorted(
            item.name for item in self.root.iterdir() if item.is_dir() and not item.name.startswith(".")
        )  # hidden folders (.git, .ipynb_checkpoints) are not classes
        if not class_dirs:
            raise DataError(
                f"image folder {self.root} has no class subfolders; put each class's images in {self.root}/<class>/"
            )
        files = {name: sorted(self._images_under(self.root / name)) for name in class_dirs}
        empty = [name for name, paths in files.items() if not paths]
        if empty:
            raise DataError(
                f"image folder {self.root}: class folder(s) {', '.join(empty)} hold no images "
                f"({', '.join(self.extensions)}); add images or set data.extensions"
            )
        self.classes, self.num_classes = class_dirs, len(class_dirs)
        return files

    def _images_under(self, folder: Path):
        """Files below folder, at any depth, whose suffix is one of the extensions (any case)."""
        return (path for path in folder.rglob("*") if path.suffix.lower() in self.extensions and path.is_file())

    def prepare_data(self) -> None:
        """Check the folder tree before training starts."""
        self.scan()

    def load_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Decode every image to uint8 (N, image_size, image_size, channels); labels are class indices (N,)."""
        files = self.scan()
        images = [self._decode(path) for name in self.classes for path in files[name]]
        labels = [label for label, name in enumerate(self.classes) for _ in files[name]]
        return np.stack(images), np.asarray(labels, dtype=np.int64)

    def _decode(self, path: Path) -> np.ndarray:
        """One image file, EXIF-rotated, as L or RGB, resized (bilinear) to image_size x image_size."""
        size = self.image_size
        try:
            with Image.open(path) as opened:
                picture = ImageOps.exif_transpose(opened).convert("L" if self.channels == 1 else "RGB")
            if picture.size != (size, size):
                picture = picture.resize((size, size), Image.Resampling.BILINEAR)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            reason = str(error).replace("\n", " ") or type(error).__name__
            raise DataError(f"image file {path} could not be decoded ({reason}); fix or remove it") from None
        array = np.asarray(picture, dtype=np.uint8)
        return array[..., None] if array.ndim == 2 else array  # (H, W, C)

    def describe_extras(self) -> dict:
        """The class names (label order) and the folder read from."""
        return {"classes": list(self.classes), "root": str(self.root)}
