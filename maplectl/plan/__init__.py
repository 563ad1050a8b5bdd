"""(desired, observed) -> plan: records, identity and near-match rules, the builder, idempotency
keys and field diffs. [pure]

``records`` holds the plan's data (``Plan``, its actions, ``Desired``); ``builder.build_plan``
makes one; ``identity`` says what could be the same object; ``keys`` derives idempotency keys;
``diff`` turns deepdiff output into field diffs.
"""
