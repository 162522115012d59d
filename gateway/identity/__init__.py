"""Citizens and their identifiers (DOMAIN.md §2-§3)."""
