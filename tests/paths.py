"""Where the tests find the repository and their captured samples."""

from pathlib import Path

ROOT = Path(__file__).parents[1]
# /proc/1/status texts, mountinfo files and trees captured from real containers
SAMPLES = ROOT / "tests" / "samples"
