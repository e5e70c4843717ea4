"""A built image: one per distinct build (see `components.source.image_owners`), kept local, tagged by content."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.docker.site import Site
from components.source import build_fingerprint, dockerfile_path
from config import model


def built_image(name: str, site: Site, owner: model.Service, opts: pulumi.ResourceOptions) -> docker.Image:
    """`<prefix>-<owner>:<fingerprint>`, never pushed: the containers of every service sharing the build run it."""
    build = owner.build
    assert build is not None
    return docker.Image(
        name,
        image_name=f"{site.prefix}-{owner.name}:{build_fingerprint(build)}",
        build=docker.DockerBuildArgs(context=build.context, dockerfile=dockerfile_path(build), args=build.args or None,
                                     target=build.target),
        skip_push=True,
        opts=opts,
    )
