"""GitHub Actions into AWS without long-lived keys: an IAM role that one repository's workflows
assume through GitHub's OpenID Connect provider, and that may do nothing but assume the CDK
bootstrap roles of the accounts it deploys to.

``GitHubOidcRole`` is the construct (the provider, or an existing one, and one role);
``GitHubOidcStack`` deploys, in the tools account, the roles the workflows in .github/workflows
use: a read-only one for pull requests and one per environment of config/ (README "Deliver it").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import CfnOutput, Duration, Environment, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

from .shared import ACCOUNT_ID, REGION_NAME, ConfigError, ContextConfig, consolidate_props

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
_CLAIM = "token.actions.githubusercontent.com"
# The audience aws-actions/configure-aws-credentials asks GitHub for.
AUDIENCE = "sts.amazonaws.com"
# `cdk bootstrap`'s default qualifier; a team that bootstraps with --qualifier passes its own.
DEFAULT_QUALIFIER = "hnb659fds"
# The bootstrap roles the CDK CLI assumes: to deploy (with assets), or only to read (cdk diff
# --no-change-set, lookups). CloudFormation, not the CLI, assumes cfn-exec-role.
DEPLOY_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")
LOOKUP_ROLES = ("lookup",)

# GitHub's rules: an owner is 1-39 letters, digits or single hyphens, not starting with one; a
# repository name is 1-100 of letters, digits, '.', '_', '-', and not '.' or '..'.
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
# A branch name without glob characters or what git refuses in a ref.
_BRANCH = re.compile(r"^(?!/)(?!.*(?:\.\.|//|@\{))[A-Za-z0-9._/-]{1,255}(?<![/.])$")
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
_QUALIFIER = re.compile(r"^[a-z0-9]{1,10}$")


def subject(
    repository: str,
    *,
    branch: str | None = None,
    environment: str | None = None,
    pull_request: bool = False,
) -> str:
    """The ``sub`` claim of GitHub's token for one of: a job on ``branch`` (no environment), a job
    in ``environment``, or a ``pull_request`` job. Refuses, in one line, anything that is not
    exactly one repository and one of the three."""
    if not _REPOSITORY.match(repository):
        raise ConfigError(
            f"repository={repository!r}: expected owner/name, one GitHub repository (letters, "
            "digits and -, then letters, digits and . _ -), without wildcards"
        )
    if (branch is not None) + (environment is not None) + pull_request != 1:
        raise ConfigError(
            f"repository={repository!r}: expected exactly one of branch, environment or "
            "pull_request to trust"
        )
    if branch is not None:
        if not _BRANCH.match(branch):
            raise ConfigError(f"branch={branch!r}: expected a branch name such as main, no globs")
        return f"repo:{repository}:ref:refs/heads/{branch}"
    if environment is not None:
        if not _ENVIRONMENT.match(environment):
            raise ConfigError(
                f"environment={environment!r}: expected a GitHub environment name (letters, "
                "digits, . _ -)"
            )
        return f"repo:{repository}:environment:{environment}"
    return f"repo:{repository}:pull_request"


def bootstrap_role_arns(
    environments: Sequence[Environment], kinds: Sequence[str], qualifier: str, partition: str
) -> list[str]:
    """The ARNs of the CDK bootstrap roles ``kinds`` in each (pinned) environment."""
    if not _QUALIFIER.match(qualifier):
        raise ConfigError(f"qualifier={qualifier!r}: expected 1-10 of a-z 0-9 (cdk bootstrap)")
    unknown = sorted(set(kinds) - set(DEPLOY_ROLES))
    if unknown or not kinds:
        raise ConfigError(f"bootstrap_roles={list(kinds)!r}: expected some of {DEPLOY_ROLES}")
    if not environments:
        raise ConfigError("deploy_to=[]: expected at least one account and region")
    arns = []
    for env in environments:
        account, region = env.account, env.region
        if not (isinstance(account, str) and ACCOUNT_ID.match(account)):
            raise ConfigError(f"deploy_to account={account!r}: expected a 12-digit account id")
        if not (isinstance(region, str) and REGION_NAME.match(region)):
            raise ConfigError(f"deploy_to region={region!r}: expected a region such as eu-west-1")
        arns += [
            f"arn:{partition}:iam::{account}:role/cdk-{qualifier}-{kind}-role-{account}-{region}"
            for kind in kinds
        ]
    return arns


class GitHubOidcRole(Construct):
    """An IAM role for one repository's GitHub Actions jobs, assumed with GitHub's OIDC token.

    Secure defaults: the trust policy requires the token's audience to be ``sts.amazonaws.com``
    and its subject to be exactly one repository and one branch, environment or pull request
    (StringEquals: no wildcards, so no other repository, fork or branch can assume it); the role
    may only ``sts:AssumeRole`` the named CDK bootstrap roles (``cdk-<qualifier>-<kind>-role-
    <account>-<region>``) of ``deploy_to``, which hold the deploy permissions; sessions last at
    most an hour. A team that bootstraps with ``--trust <this account>`` needs nothing else.

    Cost: IAM roles and OIDC providers are free. One provider per account: give ``provider``
    (or ``provider_arn``) when it exists already, or share one between several roles.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repository: str,
        deploy_to: Sequence[Environment],
        branch: str | None = None,
        environment: str | None = None,
        pull_request: bool = False,
        bootstrap_roles: Sequence[str] = DEPLOY_ROLES,
        qualifier: str = DEFAULT_QUALIFIER,
        provider: iam.IOidcProvider | None = None,
        provider_arn: str | None = None,
        role_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, id)
        sub = subject(repository, branch=branch, environment=environment, pull_request=pull_request)
        targets = bootstrap_role_arns(
            deploy_to, bootstrap_roles, qualifier, Stack.of(self).partition
        )
        if provider is not None and provider_arn is not None:
            raise ConfigError(f"provider_arn={provider_arn!r}: give provider or provider_arn")
        self.provider = provider or self._provider(provider_arn)
        self.role = self._role(sub, role_props)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=targets)
        )

    def _provider(self, provider_arn: str | None) -> iam.IOidcProvider:
        """GitHub's OIDC provider, or the account's existing one. IAM fetches and pins the
        certificate thumbprint itself (none given), and the provider outlives the stack: other
        roles in the account may trust it."""
        if provider_arn is not None:
            if not Token.is_unresolved(provider_arn) and not provider_arn.endswith(
                ":oidc-provider/token.actions.githubusercontent.com"
            ):
                raise ConfigError(
                    f"provider_arn={provider_arn!r}: expected an ARN like arn:aws:iam::"
                    "<account>:oidc-provider/token.actions.githubusercontent.com"
                )
            return iam.OidcProviderNative.from_oidc_provider_arn(self, "Provider", provider_arn)
        return iam.OidcProviderNative(
            self,
            "Provider",
            url=GITHUB_OIDC_URL,
            client_ids=[AUDIENCE],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _role(self, sub: str, role_props: Mapping[str, Any] | None) -> iam.Role:
        """The role, trusting only tokens for this audience and this subject."""
        principal = iam.WebIdentityPrincipal(
            self.provider.oidc_provider_arn,
            conditions={
                "StringEquals": {f"{_CLAIM}:aud": AUDIENCE, f"{_CLAIM}:sub": sub},
            },
        )
        defaults: dict[str, Any] = {
            "assumed_by": principal,
            "description": f"GitHub Actions ({sub}): may only assume CDK bootstrap roles",
            "max_session_duration": Duration.hours(1),
        }
        owned = {"assumed_by": f"the trust policy: only GitHub tokens for {sub} may assume it"}
        return iam.Role(
            self, "Role", **consolidate_props(self, "role_props", defaults, role_props, owned=owned)
        )


class GitHubOidcStack(Stack):
    """The workflows' roles, in the tools account (``-c account= -c region=``): ``PullRequest``
    (jobs of pull requests; the lookup roles only: ``cdk diff --no-change-set``) and one
    ``Deploy<env>`` per environment file (jobs in the GitHub environment of that name; that
    environment's account only). Context keys (``GitHubOidc:<key>``): ``repository``
    (owner/name, required), ``environments`` (default: every file in config/), ``qualifier``
    (bootstrap qualifier, default hnb659fds), ``provider_arn`` (the account's existing GitHub
    provider)."""

    CONTEXT_KEYS = ("repository", "environments", "qualifier", "provider_arn")

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        # Imported here: the environment files are checked against the app's keys.
        from .environments import load_environments

        config = ContextConfig(self, id, self.CONTEXT_KEYS)
        repository = config.get_optional_str("repository")
        if repository is None:
            raise config.fail("repository", None, "owner/name of the GitHub repository")
        if not _REPOSITORY.match(repository):
            raise config.fail("repository", repository, "owner/name, one repository, no wildcards")
        qualifier = config.get_str("qualifier", DEFAULT_QUALIFIER)
        if not _QUALIFIER.match(qualifier):
            raise config.fail("qualifier", qualifier, "1-10 of a-z 0-9 (cdk bootstrap)")
        provider_arn = config.get_arn("provider_arn", "iam", "oidc-provider/")
        environments = load_environments(config.get_list("environments", []) or None)
        places = {e.name: Environment(account=e.account, region=e.region) for e in environments}

        pull_requests = GitHubOidcRole(
            self,
            "PullRequest",
            repository=repository,
            pull_request=True,
            deploy_to=list(places.values()),
            bootstrap_roles=LOOKUP_ROLES,
            qualifier=qualifier,
            provider_arn=provider_arn,
        )
        CfnOutput(self, "DiffRoleArn", value=pull_requests.role.role_arn)
        for name, place in places.items():
            deploy = GitHubOidcRole(
                self,
                f"Deploy{name.title().replace('-', '')}",
                repository=repository,
                environment=name,
                deploy_to=[place],
                qualifier=qualifier,
                provider=pull_requests.provider,
            )
            CfnOutput(
                self,
                f"DeployRoleArn{name.title().replace('-', '')}",
                value=deploy.role.role_arn,
                description=f"AWS_DEPLOY_ROLE_ARN of the GitHub environment {name}",
            )
