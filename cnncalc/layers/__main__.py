"""`python -m cnncalc.layers > cnncalc/layers/words.py`: writes the registry's table of words."""

import sys

from cnncalc.layers import words_source

sys.stdout.write(words_source())
