"""Files -> desired: strict YAML with line numbers, JSON Schemas, the rules schemas cannot say,
and messages that name the file, line and field. [disk, then pure]

``loader`` reads YAML into located documents (the only module here that touches disk or yaml);
``documents`` judges them with ``schema``, ``rules`` and ``messages`` and makes Resources.
"""
