"""Pure code over /proc and /sys: the status parser, capability and signal names,
the posture checks. Text and file trees in, typed data out; it imports only the
standard library and itself, so any process, or a test on a fixture tree, can use it.
"""
