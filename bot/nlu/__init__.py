"""Custom Rasa NLU components (text normalisation, spaCy entity extraction)."""
