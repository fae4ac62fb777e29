import glob
import os

from setuptools import find_packages, setup


def package_files(package: str) -> list[str]:
    """Every non-Python file under C{package}, relative to it: what the code reads at run time ships.

    Listing patterns by hand left C{runtime/prelude.js} out of the wheel once (every JS app died on a
    normal install); tests/test_wheel.py checks the built wheel against the tree.
    """
    found = []
    for folder, dirs, files in os.walk(package):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith((".py", ".pyc")):
                # package_data entries are glob patterns: a template's api/users/[id].js must be escaped.
                found.append(glob.escape(os.path.relpath(os.path.join(folder, name), package)))
    return sorted(found)


setup(
    name="fazt",
    version="0.1.0",
    description="A personal PaaS in one process and one SQLite file",
    python_requires=">=3.11",
    packages=find_packages(include=["fazt", "fazt.*"]) + ["twisted.plugins"],
    package_data={"fazt": package_files("fazt")},
    install_requires=[
        "twisted[tls]>=26.10,<27",
        "klein>=24.8",
        "treq>=26.7",
        "pyopenssl>=26.4",
        "service-identity>=26.1",
        "bcrypt>=5",
        "brotli>=1.1",
        "dukpy>=0.6,<0.7",
        "autobahn>=26.10",
        "acme>=5.9,<6",
        "josepy>=2.2,<3",
        "txsni>=0.2",
        "ada-url>=1.15",
        "python-multipart>=0.0.20",
        "psycopg[binary]>=3.2,<4",
        "python-dotenv>=1.0,<2",  # fazt dev: the site folder's .env
        "pillow>=11",
        "dulwich>=1.2,<2",
    ],
    extras_require={
        "test": ["pytest>=9", "pytest-twisted>=1.14.3", "pytest-timeout>=2.3", "pytest-xdist>=3.5", "hypothesis>=6",
                 "prometheus_client",
                 "playwright>=1.40", "PyJWT>=2.8"],
    },
    entry_points={"console_scripts": ["fazt = fazt.cli.main:main"]},
)
