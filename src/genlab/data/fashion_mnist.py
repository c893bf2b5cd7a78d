"""Fashion-MNIST (28x28 grayscale clothing, 10 classes): MNIST's IDX file names and format, its own md5s."""

from genlab.data.mnist import MNISTDataModule

FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DEFAULT_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"  # files are md5-checked


class FashionMNISTDataModule(MNISTDataModule):
    """Fashion-MNIST pooled from the standard parts (train, t10k; default t10k like MNIST), then split."""

    name = "fashion_mnist"
    title = "Fashion-MNIST"
    num_classes = 10
    default_mirror = DEFAULT_MIRROR

    def file_md5s(self) -> dict[str, str]:
        return FASHION_MNIST_MD5

    def describe_extras(self) -> dict:
        """MNIST's pool and data_dir, plus the class names in label order."""
        return {**super().describe_extras(), "classes": list(FASHION_MNIST_CLASSES)}
