"""Build step that ships the clinic's data files inside the package.

``protocols.json`` and ``schemas/`` stay at the repository's top level, where clinics edit them;
a wheel must still carry them, so ``build_py`` copies them into ``glowline/_data`` in the build
folder (never into the checkout). ``glowline.config`` looks there first and falls back to the
checkout's own files, which is what an editable install uses. Copies, not symlinks: symlinks do
not survive sdists and wheels reliably. Everything else about the project is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA_FILES = ("protocols.json",)
DATA_DIRS = ("schemas",)


class BuildPyWithClinicData(build_py):
    """build_py that also copies protocols.json and schemas/ into glowline/_data."""

    def run(self):
        """Build the packages, then add the clinic's data files to the built glowline package."""
        super().run()
        if self.editable_mode:
            return  # an editable install reads the checkout's own files
        target = Path(self.build_lib) / "glowline" / "_data"
        target.mkdir(parents=True, exist_ok=True)
        for name in DATA_FILES:
            shutil.copyfile(HERE / name, target / name)
        for name in DATA_DIRS:
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(HERE / name, target / name, ignore=shutil.ignore_patterns("*~", ".*"))


setup(cmdclass={"build_py": BuildPyWithClinicData})
