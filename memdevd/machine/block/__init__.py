"""The block layer as a management tool sees it: nodes, backends, queries.

``graph`` holds the node graph (``blockdev-add``/``-del``) and the
backends, ``image`` what the drivers read of a file, ``info`` what the
queries report.  Nothing is written: files are looked at, never changed.
"""
