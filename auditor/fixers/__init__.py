"""Fixes: what a finding's remedy changes, as edits on the original text (never a re-dump).

A fixer reads a finding and the file it is in and returns a :class:`~auditor.fixers.edits.Fix`:
text edits on the decoded characters of the file, with the rule's safety class. One applier
(:mod:`auditor.fixers.apply`) sorts the edits, drops any that overlap, applies them, re-parses and
re-lints the result to check the fixed findings are gone and nothing new appeared, repeats until
nothing is left to fix, and writes the file atomically. Everything a fixer did not touch (comments,
key order, quoting, indentation, blank lines, line endings) stays byte-identical by construction.

- :mod:`.edits`: the ``Edit`` and ``Fix`` data, and applying edits to text.
- :mod:`.source`: a parsed file with the offsets of every node, and the structural edits built on
  them (replace a value, add entries to a mapping, delete an item), in the file's own style.
- :mod:`.render`: new values written as YAML (short or long intrinsic forms) or JSON.
- :mod:`.embedded`: the same edits inside a definition written as a string (``DefinitionString``).
- :mod:`.template`: the fixers of the template rules.
- :mod:`.apply`: the loop that applies, verifies and writes.
"""
