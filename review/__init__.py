"""Review work over many figures: batch zero-click extraction with a review list
(:mod:`review.batch`) and two-reviewer agreement between extractions (:mod:`review.agree`).

Sits after ``digitize``/``reconstruct`` in the one-way flow: it runs them and compares their
outputs, and holds no image or reconstruction algorithm itself. ``gui`` only displays it.
"""
