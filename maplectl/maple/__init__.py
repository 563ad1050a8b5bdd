"""Maple -> observed: the httpx client (auth, retries, deadlines, paging, error mapping) and the
read-only reader that gathers the credits and charges a plan needs. [network]

``reader`` defines the ``StateReader``/``StateWriter`` seams the rest of maplectl is written
against; ``client`` is the one implementation that talks HTTP.
"""
