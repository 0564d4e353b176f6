"""hopscout's packages, found rather than listed by hand: a subpackage left off a hand-written list is missing
from the built wheel while every test run from a checkout passes (``hopscout.bench`` was).

pyproject.toml maps the folders (``package-dir``: plugin/ is hopscout, adapters/ and servers/ its subpackages);
its ``packages.find`` cannot rename a folder, so the packages under each mapped folder are found here. All the
rest of the build is configured in pyproject.toml."""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.config.pyprojecttoml import read_configuration

ROOT = Path(__file__).resolve().parent
FOLDERS: dict[str, str] = read_configuration(ROOT / "pyproject.toml", expand=False)["tool"]["setuptools"][
    "package-dir"
]

setup(
    packages=[
        f"{package}.{sub}" if sub else package
        for package, folder in FOLDERS.items()
        for sub in ["", *find_packages(str(ROOT / folder))]
    ]
)
