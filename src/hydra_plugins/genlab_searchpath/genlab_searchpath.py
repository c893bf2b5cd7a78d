"""Hydra plugin: directories in GENLAB_CONFIG_PATH join the config search path (user models outside genlab)."""
import os

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class GenlabSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        for directory in filter(None, os.environ.get("GENLAB_CONFIG_PATH", "").split(os.pathsep)):
            search_path.append(provider="genlab-user", path=f"file://{os.path.abspath(directory)}")
