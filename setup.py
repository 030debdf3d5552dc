"""Packaging for qdd. All metadata lives in settings.ini (nbdev 2 layout); this file only reads it, so the sdist ships
settings.ini (MANIFEST.in)."""
from configparser import ConfigParser
from pathlib import Path

import setuptools

here = Path(__file__).parent
cfg = ConfigParser(delimiters=["="])
cfg.read(here / "settings.ini", encoding="utf-8")
meta = cfg["DEFAULT"]


def words(key):
    "Space-separated list stored under `key` in settings.ini."
    return meta.get(key, "").split()


licenses = {"apache2": "Apache-2.0"}  # SPDX expression (license classifiers are deprecated)
statuses = ["1 - Planning", "2 - Pre-Alpha", "3 - Alpha", "4 - Beta", "5 - Production/Stable"]
lic_name = licenses[meta["license"]]
readme = here / "README.md"

setuptools.setup(
    name=meta["lib_name"],
    version=meta["version"],
    description=meta["description"],
    long_description=readme.read_text(encoding="utf-8") if readme.exists() else meta["description"],
    long_description_content_type="text/markdown",
    author=meta["author"],
    author_email=meta.get("author_email") or None,
    license=lic_name,
    license_files=["LICENSE"],
    url=meta["paper_url"],
    project_urls={"Paper": meta["paper_url"]},
    keywords=meta["keywords"],
    classifiers=[
        "Development Status :: " + statuses[int(meta["status"]) - 1],
        "Intended Audience :: " + meta["audience"],
        "Natural Language :: " + meta["language"],
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Physics",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
    packages=setuptools.find_packages(include=["qdd", "qdd.*"]),
    include_package_data=True,
    package_data={"qdd": ["templates/*.md"]},  # the report's prose
    python_requires=">=" + meta["min_python"],
    install_requires=words("requirements"),
    extras_require={"dev": words("dev_requirements")},
    entry_points={
        "console_scripts": words("console_scripts"),
        "nbdev": [f"{meta['lib_path']}={meta['lib_path']}._modidx:d"],
    },
    zip_safe=False,
)
