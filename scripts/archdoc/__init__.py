"""The architecture document: diagrams drawn from the inventories or from what is deployed, and the PDF.

    python -m scripts.archdoc draw       one diagram per inventory and both side by side (docs/architecture/build/)
    python -m scripts.archdoc as-built   the same picture from what the account holds, and what differs
    python -m scripts.archdoc pdf        docs/architecture.pdf from the diagrams and docs/architecture/*.md
    python -m scripts.archdoc check      fail when docs/architecture.pdf is older than its sources

docs/ARCHITECTURE-DOC.md describes it.
"""
