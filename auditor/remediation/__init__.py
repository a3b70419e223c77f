"""``sagewise remediate``: the audit's findings fixed on live accounts, plan first.

A live fix is data, like a template fix: a plan of API calls, each with the state it expects and the
call that undoes it (Terraform's plan; never an action without a preview).

- :mod:`.steps`: a step's calls, the state each expects and leaves, the call that undoes it.
- :mod:`.state`: reading that state (the same reads when planning and when applying) and comparing.
- :mod:`.autoscaling_fixes`, :mod:`.endpoint_fixes`: the live fixes, from findings to steps.
- :mod:`.plan`: a plan from an audit, its JSON file and the checks made when it is loaded.
- :mod:`.render`: the plan as text.

Planning is an audit: it runs behind the audit's read-only guard. These modules import boto3; the
lint path never imports them.
"""
