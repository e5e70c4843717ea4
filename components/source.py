"""Built images, the same way on both backends: which services share one, and the fingerprint that tags it.

The tag is what containers and task definitions reference, so a changed source tree, Dockerfile, build arg, target or
platform means a new tag, a rebuilt image and a rolled service, and an unchanged one means nothing to do. A fixed tag
like `latest` would rebuild the image and leave the old containers running (docker) or be refused by an IMMUTABLE
ECR repository (aws).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Iterable
from pathlib import Path

from config import model

# Never part of the fingerprint: VCS data, caches, and dependency trees the build recreates.
SKIP_DIRS = {".git", "__pycache__", "node_modules", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def dockerfile_path(build: model.Build) -> str:
    """The Dockerfile as the docker provider reads it: relative to the project directory, not to the context."""
    return posixpath.join(build.context, build.dockerfile)


def build_fingerprint(build: model.Build, platform: str | None = None) -> str:
    digest = hashlib.sha256(json.dumps([build.args, build.target, platform], sort_keys=True).encode())
    files = [Path(dockerfile_path(build))]
    for root, dirs, names in os.walk(build.context):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        files += [Path(root, n) for n in sorted(names)]
    for path in files:
        if path.is_file():
            digest.update(path.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def image_owners(services: Iterable[model.Service], per_architecture: bool) -> dict[str, str]:
    """For each built service, the service whose image it runs: the first one, in config order, that declares the
    same build (and, where images are built for the task's CPU, the same architecture).

    Services with the same build run the same image, so it is built and pushed once, not once per service (Castiel's
    21 services share one). The image is named after that first service, so where each service builds its own, each
    image carries its service's name.
    """
    owners: dict[str, str] = {}
    first: dict[str, str] = {}
    for svc in services:
        if svc.build is not None:
            key = json.dumps([svc.build.model_dump(), svc.architecture if per_architecture else None], sort_keys=True)
            owners[svc.name] = first.setdefault(key, svc.name)
    return owners
