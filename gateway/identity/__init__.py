"""Citizens and their identifiers (docs/domain.md §2-§3)."""
