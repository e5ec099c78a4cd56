"""Run each pattern on a laptop, wired from the synthesized template: no Docker, no AWS account.

``python -m local <mode> --cdk-out cdk.out``; the modes are ``api``, ``chat``, ``thumbnails``,
``web``, ``batch`` and ``cron`` (see README.md, "Run it locally"). Every mode reads what
``cdk deploy`` would ship (handler, environment, tables, filters, routes, models) from the
stack's template in cdk.out, and runs the real handler or container code against moto.
"""
