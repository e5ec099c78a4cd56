#!/usr/bin/env python3
"""Entry point for the CDK CLI (see cdk.json): synthesizes every stack of stacks/app.py."""

from stacks.app import build_app

build_app().synth()
