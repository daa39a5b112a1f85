"""Character-level folding shared by the value standardisers.

Departments type on Chinese input methods, which produce full-width digits and letters
(``１２３``, ``Ｘ``) and the ideographic space (U+3000); every standardiser folds them first so
the rules that follow only have to know ASCII.
"""

from __future__ import annotations

import re

# U+FF01..U+FF5E are the full-width forms of ASCII 0x21..0x7E; U+3000 is the ideographic space.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_SPACES = re.compile(r"\s+")


def fold_fullwidth(text: str) -> str:
    """Full-width ASCII forms and the ideographic space to their ASCII equivalents."""
    return text.translate(_FULLWIDTH)


def strip_spaces(text: str) -> str:
    """Remove every whitespace character (after folding U+3000)."""
    return _SPACES.sub("", fold_fullwidth(text))
