"""What a deploy would replace or delete, decided offline from two synthesized template folders.

``python -m changes OLD_DIR NEW_DIR`` (or ``--base <git ref>``; ``make diff-offline``) lists one
line per changed resource: verdict (add, modify in place, replace, delete, orphan), logical id,
type, property paths; a stateful resource replaced or deleted without an acknowledgement
(``changes/acknowledged.json``) fails it. ``changes.schemas`` reads CloudFormation's provider
schemas from cfn-lint; ``changes.retain`` checks every stateful resource is retained by default.
"""
