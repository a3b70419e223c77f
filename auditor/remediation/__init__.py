"""``sagewise remediate`` and ``sagewise undo``: the audit's findings fixed on live accounts, plan first.

A live fix is data, like a template fix: a plan of API calls, applied by one applier that journals
each call and knows its inverse (Terraform's plan and apply; never an action without a preview).

- :mod:`.steps`: a step's calls, the state each expects and leaves, the call that undoes it.
- :mod:`.state`: reading that state (the same reads when planning, applying and undoing) and comparing.
- :mod:`.fixing`: what every live fix shares (its context, its refusals, a new step).
- :mod:`.autoscaling_fixes`, :mod:`.endpoint_fixes`, :mod:`.group_fixes`: the live fixes, from findings to steps.
- :mod:`.plan`: a plan from an audit, its JSON file and the checks made when it is loaded.
- :mod:`.render`: the plan and a run's outcome as text.
- :mod:`.journal`: the append-only, fsynced record of every call, from which undo works.
- :mod:`.apply`: the one applier; :mod:`.undo`: the same calls' inverses, newest first.
- :mod:`.access`: the clients that may write, behind their own allow-list.
- :mod:`.runs`: plan, apply and undo end to end, as the commands run them.

Planning is an audit: it runs behind the audit's read-only guard. Only :mod:`.access` opens clients
that can write. These modules import boto3; the lint path never imports them.
"""
