"""Image: a `build`, built for its Fargate architecture and pushed to its own ECR repository, once for all the
services that declare it (see `components.source.image_owners`; the repository is named after the first of them).

Tags are IMMUTABLE, so the tag is a fingerprint of everything that shapes the image (context files, Dockerfile,
build args, target, platform): a change pushes a new tag, an unchanged tree pushes nothing. Task definitions
reference the pushed digest, never a tag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components.aws.site import Site
from components.source import build_fingerprint, dockerfile_path
from config import model

PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}
LIFECYCLE = {"rules": [
    {"rulePriority": 1, "description": "Untagged layers left by failed pushes",
     "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "description": "Keep the 30 newest images (rollbacks), expire older ones",
     "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
     "action": {"type": "expire"}},
]}


@dataclass(frozen=True)
class ImageArgs:
    service: model.Service  # the first service that declares the build: names the repository, gives the build
    site: Site


class Image(pulumi.ComponentResource):
    def __init__(self, name: str, args: ImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("twinstack:aws:Image", name, None, opts)
        svc, site = args.service, args.site
        build = svc.build
        assert build is not None
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            f"{name}-repo",
            name=f"{site.prefix}/{svc.name}",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": site.key.arn}],
            force_delete=not site.production,
            opts=pulumi.ResourceOptions(parent=self, protect=site.protect_data),
        )
        aws.ecr.LifecyclePolicy(f"{name}-lifecycle", repository=self.repository.name,
                                policy=json.dumps(LIFECYCLE), opts=child)

        platform = PLATFORMS[svc.architecture]
        dockerfile = dockerfile_path(build)
        token = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id,
                                                       opts=pulumi.InvokeOptions(parent=self))
        self.image = docker.Image(
            f"{name}-image",
            image_name=pulumi.Output.concat(self.repository.repository_url, ":",
                                            build_fingerprint(build, platform)),
            build=docker.DockerBuildArgs(context=build.context, dockerfile=dockerfile, args=build.args or None,
                                         target=build.target, platform=platform),
            registry=docker.RegistryArgs(
                server=self.repository.repository_url.apply(lambda url: url.split("/", 1)[0]),
                username=token.user_name, password=pulumi.Output.secret(token.password)),
            opts=child,
        )
        self.ref: pulumi.Output[str] = self.image.repo_digest
        self.register_outputs({"repositoryUrl": self.repository.repository_url, "ref": self.ref})
