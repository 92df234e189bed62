"""Manager reports: which decisions count (filters), where answers sit (fields), the figures,
small-number suppression, charts (and their images at their own addresses), export documents,
starting exports and the background task.
"""
