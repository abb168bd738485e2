"""The code that runs inside a submission's sandbox: parsing, running cells, answering
calls.

It is bound read-only into the sandbox on its own; nothing in it knows an expected
value.
"""
